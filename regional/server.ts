import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import type { AppEnv } from "./http/context.ts";
import { withTimeout } from "../shared/resilience/deadline.ts";

export interface RunningServer {
  url: string;
  /** Stops accepting, lets in-flight requests and streams finish for up to `graceMs`. */
  close(graceMs: number): Promise<void>;
}

export async function listen(app: Hono<AppEnv>, host: string, port: number): Promise<RunningServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(started as Server)) as Server;
    started.once("error", reject);
  });
  server.keepAliveTimeout = 65_000;
  const { port: bound } = server.address() as AddressInfo;

  return {
    url: `http://${host}:${bound}`,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle between requests; close each as soon as it is.
      const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      // Past the grace period, whatever is still open is cut.
      await withTimeout(closed, graceMs, () => new Error("grace period over")).catch(() => {});
      clearInterval(idleSweep);
      server.closeAllConnections();
      await closed;
    },
  };
}
