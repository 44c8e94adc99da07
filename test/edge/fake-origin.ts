/**
 * Vitest global setup for the edge project: a real HTTP server standing in for the
 * regional origin, so the Worker under test forwards over a real socket. Tests pick a
 * behaviour by path and hold or release its answers through `/__control/...`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  interface ProvidedContext {
    originPort: number;
  }
}

/** A point where a request waits until the test releases it, named by an id from the test. */
interface Gate {
  arrived: Promise<void>;
  arrive: () => void;
  released: Promise<void>;
  release: () => void;
  closed: Promise<void>;
  close: () => void;
  /** Whether the origin's response was still unfinished when the test released it. */
  open: boolean;
}

const gates = new Map<string, Gate>();

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

function gate(id: string): Gate {
  let found = gates.get(id);
  if (!found) {
    const arrived = signal();
    const released = signal();
    const closed = signal();
    found = {
      arrived: arrived.promise,
      arrive: arrived.resolve,
      released: released.promise,
      release: released.resolve,
      closed: closed.promise,
      close: closed.resolve,
      open: false,
    };
    gates.set(id, found);
  }
  return found;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

type Route = (req: IncomingMessage, res: ServerResponse, id: string) => Promise<void> | void;

const routes: Record<string, Route> = {
  /** Waits until the request with this id reached the origin. */
  "__control/arrived": async (_req, res, id) => {
    await gate(id).arrived;
    json(res, 200, { arrived: true });
  },

  /** Waits until the connection of the request with this id was closed. */
  "__control/closed": async (_req, res, id) => {
    await gate(id).closed;
    json(res, 200, { closed: true });
  },

  /** Lets the request with this id go on; tells whether its response was still unfinished. */
  "__control/release": (_req, res, id) => {
    const held = gate(id);
    held.release();
    json(res, 200, { open: held.open });
  },

  /** Answers with what the origin received. */
  "v1/echo": async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    json(res, 200, { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
  },

  /** Echoes a request body whose first bytes it reports as arrived before the body ends. */
  "v1/upload": async (req, res, id) => {
    const held = gate(id);
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
      held.arrive();
    }
    json(res, 200, { body: Buffer.concat(chunks).toString() });
  },

  /** Answers with hop-by-hop headers next to end-to-end ones. */
  "v1/hop-by-hop": (_req, res) => {
    res.writeHead(200, {
      "content-type": "text/plain",
      connection: "keep-alive, x-origin-hop",
      "keep-alive": "timeout=5",
      "proxy-authenticate": "Basic",
      "x-origin-hop": "1",
      "x-end-to-end": "1",
    });
    res.end("ok");
  },

  /** Sends headers and a first event, then holds the rest until the test releases it. */
  "v1/stream": async (_req, res, id) => {
    const held = gate(id);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write("data: first\n\n");
    held.open = true;
    held.arrive();
    await held.released;
    res.end("data: second\n\n");
    held.open = false;
  },

  /** Holds even the response headers until the test releases them or the caller gives up. */
  "v1/hang": async (_req, res, id) => {
    const held = gate(id);
    held.open = true;
    res.on("close", () => {
      held.open = false;
      held.close();
    });
    held.arrive();
    await held.released;
    if (held.open) json(res, 200, { late: true });
  },

  /** Drops the connection without answering. */
  "v1/reset": (req) => {
    req.socket.destroy();
  },

  /** Fails the way the regional service does when it is overloaded. */
  "v1/overloaded": (_req, res) => {
    json(
      res,
      503,
      { error: { message: "busy", type: "service_unavailable", code: "unavailable", param: null, request_id: "regional" } },
      { "retry-after": "7" },
    );
  },

  /** Redirects; a proxy passes redirects on rather than following them. */
  "v1/redirect": (_req, res) => {
    res.writeHead(307, { location: "/v1/echo" });
    res.end();
  },
};

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { pathname } = new URL(req.url ?? "/", "http://origin.test");
  const [, first = "", second = "", id = ""] = pathname.split("/");
  const route = routes[`${first}/${second}`];
  if (route) return await route(req, res, id);
  json(res, 404, { error: { message: `The fake origin has no ${pathname}.` } });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => res.destroy(error instanceof Error ? error : new Error(String(error))));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  project.provide("originPort", (server.address() as AddressInfo).port);

  return async () => {
    for (const held of gates.values()) held.release();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
