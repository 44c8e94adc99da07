import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
  /** The gateway's end of the connection: the same port again is a reused keep-alive connection. */
  remotePort: number | undefined;
}

export type UpstreamHandler = (request: RecordedRequest, response: ServerResponse) => unknown;

export interface FakeUpstream {
  /** Base URL including `/v1`. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Replaces how the next requests are answered. */
  handle(handler: UpstreamHandler): void;
  close(): Promise<void>;
}

/** A stand-in for a provider's HTTP API (the outside world), recording what it was sent. */
export async function startFakeUpstream(initial?: UpstreamHandler): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = [];
  let handler: UpstreamHandler = initial ?? ((_, response) => response.writeHead(500).end());
  const server = createServer((incoming, response) => {
    const parts: Buffer[] = [];
    incoming.on("data", (part: Buffer) => parts.push(part));
    incoming.on("end", () => {
      const recorded = {
        method: incoming.method ?? "",
        path: incoming.url ?? "",
        headers: incoming.headers,
        body: Buffer.concat(parts).toString("utf8"),
        remotePort: incoming.socket.remotePort,
      };
      requests.push(recorded);
      void Promise.resolve(handler(recorded, response)).catch(() => response.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    handle(next) {
      handler = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An OpenAI-style chunk carrying one piece of content. */
export function contentChunk(model: string, content: string, finish: string | null = null): string {
  return `data: ${JSON.stringify({ id: "chatcmpl-up", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
}

/**
 * An upstream that streams `full` word by word — after an assistant prefill that `full` starts
 * with, only the rest (a continuation) — and, with `cutAfter`, breaks off after that many words.
 */
export function wordStream(full: string, cutAfter?: number): UpstreamHandler {
  return (request: RecordedRequest, response: ServerResponse) => {
    const last = (JSON.parse(request.body) as { messages: { role: string; content: string }[] }).messages.at(-1);
    const rest = last?.role === "assistant" && full.startsWith(last.content) ? full.slice(last.content.length) : full;
    const pieces = rest.split(/(?<=\s)/).filter(Boolean);
    response.writeHead(200, { "content-type": "text/event-stream" });
    pieces.forEach((piece, index) => {
      if (cutAfter !== undefined && index >= cutAfter) return;
      response.write(contentChunk("m", piece, cutAfter === undefined && index === pieces.length - 1 ? "stop" : null));
    });
    if (cutAfter !== undefined) setTimeout(() => response.destroy(), 30);
    else response.end("data: [DONE]\n\n");
  };
}
