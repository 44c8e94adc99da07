/**
 * Edge → regional request signing: HMAC-SHA-256 with a secret both tiers share, over the
 * method, path and query, a timestamp, the body's SHA-256 and every `x-breakwater-*`
 * header (the identity the edge vouches for). Web Crypto only, so both runtimes run it.
 */

/** Headers only the edge may set; it strips them from what clients send. */
export const edgeHeaderPrefix = "x-breakwater-";
export const signatureHeader = "x-breakwater-signature";
export const timestampHeader = "x-breakwater-timestamp";
/** The identity the edge vouches for; the regional tier trusts these only when signed. */
export const identityHeaders = {
  keyId: "x-breakwater-key-id",
  keyPrefix: "x-breakwater-key-prefix",
  tenantId: "x-breakwater-tenant-id",
} as const;

/** The client address the edge saw (`cf-connecting-ip`), vouched for like the identity: regional records it for edge calls. */
export const clientIpHeader = "x-breakwater-client-ip";

/**
 * A fresh random value per signed call, covered by the signature like every `x-breakwater-*`
 * header: the regional tier accepts each nonce once, so a captured call cannot be sent again.
 */
export const nonceHeader = "x-breakwater-nonce";

/**
 * Names the ordinary headers the signature also covers (comma separated): the edge lists
 * `x-request-id`, `idempotency-key` and `content-type` when present, so none of them can be
 * changed on the way. Signed itself, so the list cannot be shortened.
 */
export const coversHeader = "x-breakwater-covers";
/** The ordinary headers the edge covers when a call carries them. */
export const coveredHeaderNames = ["x-request-id", "idempotency-key", "content-type"] as const;

/**
 * Set (and so signed) on a call whose body is streamed rather than read whole: an upload the
 * edge must not hold in memory. Its value is the byte count the client declared, or
 * `unknown` for a chunked body. Such a call signs `streamedBodyDigest` in place of the body's
 * SHA-256, and regional refuses a body whose byte count differs from the signed one.
 *
 * The trade-off: the signature still binds the call to the edge (identity, nonce, timestamp,
 * path, content type and length), but not to the upload's bytes. Someone able to rewrite the
 * edge → regional connection in flight (through TLS) could swap an upload for another of the
 * same length; they could not make it any other tenant's, replay it, or send one of their own.
 * Buffering uploads to hash them first would cost an isolate up to the upload limit per request.
 */
export const bodyLengthHeader = "x-breakwater-body-length";
/** What a streamed body's call signs in place of its SHA-256 (never a hex digest, so a read body cannot pass for one). */
export const streamedBodyDigest = "streamed";
/** The length value of a streamed body whose client declared none. */
export const unknownBodyLength = "unknown";

/** How far a signature's timestamp may be from the verifier's clock, either way. */
export const maxSignatureAgeS = 300;

const scheme = "v1";
const encoder = new TextEncoder();

export interface SignedParts {
  method: string;
  /** Path and query exactly as sent, e.g. `/v1/chat/completions?x=1`. */
  pathAndQuery: string;
  /** Unix seconds. */
  timestampS: number;
  /** Hex SHA-256 of the body bytes (of nothing for a request without a body), or `streamedBodyDigest` for a streamed one. */
  bodySha256: string;
  /** The `x-breakwater-*` headers to vouch for, except the signature itself. */
  headers: Record<string, string>;
}

export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  // Request bodies are never views of a SharedArrayBuffer, which is all the cast rules out.
  const bytes = typeof data === "string" ? encoder.encode(data) : (data as Uint8Array<ArrayBuffer>);
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** The value of the signature header for these parts. */
export async function sign(secret: string, parts: SignedParts): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(canonical(parts)));
  return `${scheme}=${toHex(new Uint8Array(mac))}`;
}

/** Whether `signature` is this secret's signature of these parts (compared in constant time). */
export async function verify(secret: string, parts: SignedParts, signature: string): Promise<boolean> {
  const hex = signature.startsWith(`${scheme}=`) ? signature.slice(scheme.length + 1) : "";
  const mac = fromHex(hex);
  if (!mac || mac.length !== 32) return false;
  return await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, encoder.encode(canonical(parts)));
}

/** Whether a timestamp is too far from `nowS` to be trusted (replayed, or a skewed clock). */
export function isStale(timestampS: number, nowS: number): boolean {
  return !Number.isSafeInteger(timestampS) || Math.abs(nowS - timestampS) > maxSignatureAgeS;
}

/**
 * The headers a request's signature covers: every `x-breakwater-*` one but the signature and
 * timestamp, and the ordinary ones its `x-breakwater-covers` lists (an absent one as empty).
 */
export function vouchedHeaders(headers: Headers): Record<string, string> {
  const vouched: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (name.startsWith(edgeHeaderPrefix) && name !== signatureHeader && name !== timestampHeader) vouched[name] = value;
  });
  for (const name of coveredNames(vouched[coversHeader])) vouched[name] = headers.get(name) ?? "";
  return vouched;
}

/** The ordinary header names a `x-breakwater-covers` value lists (never an `x-breakwater-*` one). */
function coveredNames(list: string | undefined): string[] {
  return (list ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "" && !name.startsWith(edgeHeaderPrefix));
}

function canonical(parts: SignedParts): string {
  const headers = Object.entries(parts.headers)
    .map(([name, value]) => [name.toLowerCase(), value.trim()] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}:${value}`);
  return ["BW1-HMAC-SHA256", parts.method.toUpperCase(), parts.pathAndQuery, String(parts.timestampS), parts.bodySha256, ...headers].join(
    "\n",
  );
}

type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

// Importing a key costs more than the MAC itself; a process signs with one or two secrets.
const keys = new Map<string, Promise<HmacKey>>();

function hmacKey(secret: string): Promise<HmacKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    if (keys.size > 8) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) return null;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
