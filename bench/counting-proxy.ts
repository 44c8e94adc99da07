import { once } from "node:events";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An HTTP proxy in front of a server the edge calls (a regional origin, the Upstash REST
 * shim) that counts what reaches it: the TCP connections the edge opened and the requests
 * it sent on them, by a name `classify` gives each path. Its own calls onward reuse
 * keep-alive connections, so the server behind sees none of the edge's connection habits;
 * only the proxy's counts are about the edge.
 */
export interface CountingProxy {
  /** `http://127.0.0.1:<port>`: give it to the edge in place of the server's. */
  origin: string;
  counts(): ProxyCounts;
  stop(): Promise<void>;
}

export interface ProxyCounts {
  /** TCP connections accepted since the start. */
  connections: number;
  /** Connections open now. */
  open: number;
  /** Requests by `classify(path)`. */
  requests: Record<string, number>;
}

export async function startCountingProxy(target: string, classify: (path: string) => string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  let connections = 0;
  let open = 0;
  const requests: Record<string, number> = {};
  const server = createServer((incoming, outgoing) => {
    const name = classify(incoming.url ?? "/");
    requests[name] = (requests[name] ?? 0) + 1;
    const onward = request(
      {
        agent,
        hostname: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: upstream.host },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
        answer.on("error", () => outgoing.destroy());
      },
    );
    onward.on("error", () => {
      if (!outgoing.headersSent) outgoing.writeHead(502).end();
      else outgoing.destroy();
    });
    // The edge hung up (a client that left, a cancelled call): so does the call onward.
    outgoing.on("close", () => {
      if (!outgoing.writableFinished) onward.destroy();
    });
    incoming.pipe(onward);
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (socket) => {
    connections += 1;
    open += 1;
    socket.once("close", () => (open -= 1));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    counts: () => ({ connections, open, requests: { ...requests } }),
    async stop() {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
