import type { MiddlewareHandler } from "hono";
import { GatewayError } from "../../shared/error.ts";
import {
  bodyLengthHeader,
  identityHeaders,
  nonceHeader,
  isStale,
  sha256Hex,
  signatureHeader,
  streamedBodyDigest,
  timestampHeader,
  unknownBodyLength,
  verify,
  vouchedHeaders,
  type SignedParts,
} from "../../shared/signing.ts";
import { readBodyLimited } from "../../shared/read-body.ts";
import { fixedSigningSecrets, type SigningSecrets } from "../secrets/signing-secrets.ts";
import type { AppEnv } from "./context.ts";
import type { ReplayGuard } from "./replay-guard.ts";

export interface EdgeSignatureOptions {
  /** The secret the edge signs with (EDGE_SIGNING_SECRET), or while it rotates the versions it may sign with. */
  secret: string | SigningSecrets;
  maxBodyBytes: number;
  /** Whether the request must name a tenant and key (for /v1/*), which become `c.get("auth")`. */
  identity: boolean;
  /** Refuses a signed call whose nonce was already taken (a replay). */
  replay: ReplayGuard;
  now?: () => number;
}

/**
 * Lets through only requests the edge signed within the last few minutes, with the body
 * they were signed with (an upload streamed through the edge: with the length it was signed
 * with, checked as it is read); anything else is 401 `invalid_signature`. The tenant and key
 * come from the signed headers and nowhere else.
 */
export const edgeSignature = (options: EdgeSignatureOptions): MiddlewareHandler<AppEnv> => {
  const secrets = typeof options.secret === "string" ? fixedSigningSecrets(options.secret) : options.secret;
  return async function edgeSignature(c, next) {
    const now = options.now ?? Date.now;
    const signature = c.req.header(signatureHeader);
    const timestamp = c.req.header(timestampHeader);
    if (!signature || !timestamp) throw new GatewayError("invalid_signature", { message: "The request is not signed by the edge." });
    if (isStale(Number(timestamp), Math.floor(now() / 1000))) {
      throw new GatewayError("invalid_signature", { message: "The edge signature is too old or from the future." });
    }

    const url = new URL(c.req.url);
    const headers = vouchedHeaders(c.req.raw.headers);
    // An upload the edge streamed is signed by its length, not its hash (see `bodyLengthHeader`):
    // it is left unread here, and whoever reads it checks its length against the signed one.
    const streamed = streamedLength(headers[bodyLengthHeader]);
    const body = streamed ? null : ((await readBodyLimited(c.req.raw, options.maxBodyBytes)) ?? new Uint8Array(0));
    const parts = {
      method: c.req.method,
      pathAndQuery: `${url.pathname}${url.search}`,
      timestampS: Number(timestamp),
      bodySha256: body ? await sha256Hex(body) : streamedBodyDigest,
      headers,
    };
    const tried = secrets.accepted();
    if (!(await verifiedByAny(tried, parts, signature))) {
      // The edge may sign with a version this instance has not read yet: read again, try what is new.
      const fresh = (await secrets.refreshed()).filter((secret) => !tried.includes(secret));
      if (!(await verifiedByAny(fresh, parts, signature))) throw new GatewayError("invalid_signature");
    }

    // The edge signs a fresh nonce into every call: the same call again is a replay. (A call
    // signed without one cannot gain one, nor lose it, without breaking the signature.)
    const nonce = headers[nonceHeader];
    if (nonce !== undefined && !(await options.replay.firstUse(nonce))) {
      throw new GatewayError("invalid_signature", { message: "This signed request was already received." });
    }

    if (options.identity) {
      const keyId = headers[identityHeaders.keyId];
      const tenantId = headers[identityHeaders.tenantId];
      if (!keyId || !tenantId) throw new GatewayError("invalid_signature", { message: "The edge signature names no tenant." });
      c.set("auth", { keyId, tenantId, prefix: headers[identityHeaders.keyPrefix] ?? "" });
    }
    // The body was read to check it; the route parses these same bytes instead of reading again.
    if (body) c.set("body", body);
    if (streamed) c.set("streamedBody", streamed);
    await next();
  };
};

/** A streamed body's signed length (`undefined` for an undeclared one); null when the call's body was hashed. */
function streamedLength(value: string | undefined): { length: number | undefined } | null {
  if (value === undefined) return null;
  if (value === unknownBodyLength) return { length: undefined };
  if (!/^\d+$/.test(value)) throw new GatewayError("invalid_signature", { message: "The signed body length is not a number." });
  return { length: Number(value) };
}

async function verifiedByAny(secrets: readonly string[], parts: SignedParts, signature: string): Promise<boolean> {
  for (const secret of secrets) if (await verify(secret, parts, signature)) return true;
  return false;
}
