import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An HTTP server fit for hundreds of concurrent, long-held streams. Node's defaults are in
 * the way: a 60 s headers timeout and 300 s request timeout would end hanging requests the
 * test means to hold, the 5 s keep-alive races the gateway's pooled connections (a request
 * on a socket closing at that instant fails with a reset the test did not script), and a
 * listen backlog of 511 refuses part of a 512-stream burst.
 */
export function createTunedServer(listener: RequestListener): Server {
  const server = createServer({ requestTimeout: 0, headersTimeout: 0, noDelay: true, keepAlive: true }, listener);
  // Longer than any client's idle pool timeout (undici: 4 s, or the hint less a margin), so the client closes first.
  server.keepAliveTimeout = 65_000;
  server.timeout = 0;
  // Unset is unlimited; said out loud because a limit here would look like a gateway fault.
  server.maxConnections = Number.POSITIVE_INFINITY;
  return server;
}

/** Listens on 127.0.0.1 (`port` 0: any free port) and answers the port bound. */
export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port, backlog: 4096 }, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
