import { coversHeader, nonceHeader, sha256Hex, sign, signatureHeader, timestampHeader } from "../../shared/signing.ts";

/**
 * The headers that prove to the regional tier that this edge sent the call: the `vouched`
 * identity headers, a fresh nonce, a timestamp and the signature over them, the method,
 * path and body.
 */
export async function signatureHeaders(
  secret: string,
  request: {
    method: string;
    pathAndQuery: string;
    body: Uint8Array | null;
    vouched: Record<string, string>;
    /** Ordinary headers the call carries that the signature must cover too (request id, idempotency key, content type). */
    covered?: Record<string, string>;
  },
): Promise<Record<string, string>> {
  const timestampS = Math.floor(Date.now() / 1000);
  // Signed with the rest: regional takes each nonce once, so the call cannot be replayed.
  const covered = request.covered ?? {};
  const names = Object.keys(covered).map((name) => name.toLowerCase());
  const vouched = { ...request.vouched, [nonceHeader]: crypto.randomUUID(), ...(names.length > 0 && { [coversHeader]: names.join(",") }) };
  const signature = await sign(secret, {
    method: request.method,
    pathAndQuery: request.pathAndQuery,
    timestampS,
    bodySha256: await sha256Hex(request.body ?? new Uint8Array(0)),
    headers: { ...vouched, ...Object.fromEntries(Object.entries(covered).map(([name, value]) => [name.toLowerCase(), value])) },
  });
  return { ...vouched, [timestampHeader]: String(timestampS), [signatureHeader]: signature };
}
