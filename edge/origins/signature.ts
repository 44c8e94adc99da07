import {
  bodyLengthHeader,
  coversHeader,
  nonceHeader,
  sha256Hex,
  sign,
  signatureHeader,
  streamedBodyDigest,
  timestampHeader,
  unknownBodyLength,
} from "../../shared/signing.ts";

/**
 * A body as the signature covers it: read bytes by their SHA-256; a streamed upload, which is
 * never held whole at the edge, by its declared length (see `bodyLengthHeader` for the trade-off).
 */
export type SignedBody = Uint8Array | { streamedLength: number | undefined } | null;

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
    body: SignedBody;
    vouched: Record<string, string>;
    /** Ordinary headers the call carries that the signature must cover too (request id, idempotency key, content type). */
    covered?: Record<string, string>;
  },
): Promise<Record<string, string>> {
  const timestampS = Math.floor(Date.now() / 1000);
  // Signed with the rest: regional takes each nonce once, so the call cannot be replayed.
  const covered = request.covered ?? {};
  const names = Object.keys(covered).map((name) => name.toLowerCase());
  const streamed = request.body !== null && !(request.body instanceof Uint8Array) ? request.body : undefined;
  const vouched = {
    ...request.vouched,
    [nonceHeader]: crypto.randomUUID(),
    ...(names.length > 0 && { [coversHeader]: names.join(",") }),
    ...(streamed && { [bodyLengthHeader]: String(streamed.streamedLength ?? unknownBodyLength) }),
  };
  const signature = await sign(secret, {
    method: request.method,
    pathAndQuery: request.pathAndQuery,
    timestampS,
    bodySha256: streamed ? streamedBodyDigest : await sha256Hex(request.body instanceof Uint8Array ? request.body : new Uint8Array(0)),
    headers: { ...vouched, ...Object.fromEntries(Object.entries(covered).map(([name, value]) => [name.toLowerCase(), value])) },
  });
  return { ...vouched, [timestampHeader]: String(timestampS), [signatureHeader]: signature };
}
