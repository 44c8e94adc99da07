import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";

export interface ClientAddress {
  /** The peer of the TCP connection: the edge, a load balancer or the client itself. */
  peer: string | null;
  /** The client address a proxy in front claims (`cf-connecting-ip`, else the first `x-forwarded-for`); not verified. */
  forwarded: string | null;
}

/** Where a request came from, as far as this process can tell. */
export function clientAddress(c: Context): ClientAddress {
  let peer: string | null = null;
  try {
    peer = getConnInfo(c).remote.address ?? null;
  } catch {
    // Not served by @hono/node-server (tests calling app.request): no socket to ask.
  }
  const forwarded = c.req.header("cf-connecting-ip")?.trim() || c.req.header("x-forwarded-for")?.split(",")[0]?.trim() || null;
  return { peer, forwarded };
}
