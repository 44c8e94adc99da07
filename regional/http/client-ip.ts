import { isIP } from "node:net";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context, MiddlewareHandler } from "hono";
import { clientIpHeader } from "../../shared/signing.ts";
import type { ClientAddress, ClientAddressEnv } from "./client-address.ts";
import { noTrustedProxies, type TrustedProxies } from "./trusted-proxies.ts";

function socketPeer(c: Context): string | null {
  // Not served by @hono/node-server (tests and benches calling app.request): no socket to ask.
  // Checked rather than caught: a thrown TypeError per request cost a tenth of its CPU time.
  const env = c.env as { incoming?: unknown; server?: { incoming?: unknown } } | undefined;
  if (!env?.incoming && !env?.server?.incoming) return null;
  return getConnInfo(c).remote.address ?? null;
}

const ipOrNull = (text: string | undefined): string | null => {
  const trimmed = text?.trim();
  return trimmed && isIP(trimmed) !== 0 ? trimmed : null;
};

/**
 * Where a request came from. Forwarded-address headers count only when the peer is a
 * trusted proxy: `X-Forwarded-For` is read from the right, past every trusted proxy, to the
 * first address that is not one (what clients prepend is never reached); `cf-connecting-ip`
 * only when a trusted peer sent no `X-Forwarded-For` (Cloudflare in front, its ranges trusted).
 * From anyone else they are kept as a claim, never believed.
 */
export function resolveClientAddress(c: Context, proxies: TrustedProxies): ClientAddress {
  const peer = socketPeer(c);
  const forwardedFor = c.req.header("x-forwarded-for");
  const cfConnectingIp = c.req.header("cf-connecting-ip")?.trim();
  const claimed = forwardedFor?.trim() || cfConnectingIp || null;
  if (!proxies.trusts(peer)) return { peer, client: peer, claimed };
  if (forwardedFor === undefined) return { peer, client: ipOrNull(cfConnectingIp) ?? peer, claimed };
  let client = peer;
  const hops = forwardedFor.split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = ipOrNull(hops[i]);
    // Garbage in the chain: the last address a trusted proxy gave is all that is known.
    if (!hop) break;
    client = hop;
    if (!proxies.trusts(hop)) break;
  }
  return { peer, client, claimed };
}

/** Works out the client address once per request and leaves it on the context as `client`. */
export const clientAddressing = (proxies: TrustedProxies = noTrustedProxies): MiddlewareHandler<ClientAddressEnv> =>
  async function clientAddressing(c, next) {
    c.set("client", resolveClientAddress(c, proxies));
    await next();
  };

/**
 * For routes behind `edgeSignature` only (it has verified every `x-breakwater-*` header by
 * then): the edge is trusted by its signature, not by its address, and the client address
 * it vouches for replaces what the peer alone would say.
 */
export const edgeVouchedClient = (): MiddlewareHandler<ClientAddressEnv> =>
  async function edgeVouchedClient(c, next) {
    const vouched = ipOrNull(c.req.header(clientIpHeader));
    if (vouched) c.set("client", { ...clientAddress(c), client: vouched });
    await next();
  };

/** The request's client address as `clientAddressing` found it (no proxy trusted when it did not run). */
export function clientAddress<E extends ClientAddressEnv>(c: Context<E>): ClientAddress {
  return c.get("client") ?? resolveClientAddress(c, noTrustedProxies);
}
