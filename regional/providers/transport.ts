/** What a call to a provider is made of, apart from how it is made (`http.ts`): a leaf every adapter and error mapper may import. */

/**
 * A request's body: JSON text, bytes, or bytes in pieces sent one after another (an upload
 * with its `model` part replaced, sent without copying the rest of it into one new buffer).
 */
export type RequestBody = string | Uint8Array<ArrayBuffer> | readonly Uint8Array<ArrayBuffer>[];

/** How many bytes a body is. */
export function byteLengthOf(body: RequestBody): number {
  if (typeof body === "string") return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return body.reduce((sum, piece) => sum + piece.byteLength, 0);
}

export interface UpstreamRequest {
  url: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  headers: Record<string, string>;
  /** Absent for GET and DELETE; bytes (or pieces of them) for a multipart form. */
  body?: RequestBody;
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
