import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createMockUpstream, type MockUpstream, type MockUpstreamOptions } from "./server.ts";

export interface ServedMockUpstream {
  /** e.g. `http://127.0.0.1:4010`; OpenAI's wire under `/openai/v1`, Anthropic's under `/anthropic`. */
  url: string;
  upstream: MockUpstream;
  close(): Promise<void>;
}

/**
 * The mock upstream on a real port, for benches and end-to-end runs. `reset` and
 * `break-after` reset the TCP connection (RST), as a crashing upstream or proxy does.
 */
export async function serveMockUpstream(port = 0, options: MockUpstreamOptions & { host?: string } = {}): Promise<ServedMockUpstream> {
  const host = options.host ?? "127.0.0.1";
  const upstream = createMockUpstream(options);
  const server = await new Promise<Server>((resolve, reject) => {
    const started = serve(
      {
        fetch: (request, env) => {
          const drop = () => env.incoming.socket.resetAndDestroy();
          return upstream.app.fetch(request, { reset: drop, dropMidBody: drop });
        },
        hostname: host,
        port,
      },
      () => resolve(started as Server),
    ) as Server;
    started.once("error", reject);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    upstream,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
