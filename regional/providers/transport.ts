/** What a call to a provider is made of, apart from how it is made (`http.ts`): a leaf every adapter and error mapper may import. */

export interface UpstreamRequest {
  url: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  headers: Record<string, string>;
  /** Absent for GET and DELETE; bytes for a multipart form. */
  body?: string | Uint8Array<ArrayBuffer>;
  signal: AbortSignal;
  /** Fails the call when no connection is made in time; a reused connection is not timed. */
  connectTimeoutMs?: number;
  /** Called once the request is written to a connected socket: the provider has it from then on. */
  onSent?: () => void;
}

export interface UpstreamResponse {
  status: number;
  header(name: string): string | null;
  /** The whole body as JSON; rejects on a malformed body. */
  json(): Promise<unknown>;
  /** The body as it arrives; leaving the loop early closes the connection (the HTTP transport: unless the rest arrives within 50 ms). */
  body: AsyncIterable<Uint8Array>;
}

/** How adapters reach a provider: HTTP in production, in process for the mock. */
export type Transport = (request: UpstreamRequest) => Promise<UpstreamResponse>;
