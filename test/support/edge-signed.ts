import { hashApiKey } from "../../regional/auth/api-key.ts";
import { sha256Hex, sign, signatureHeader, timestampHeader } from "../../shared/signing.ts";

/** The headers of a bodiless `GET` signed as the edge signs it: `vouched` (identity headers, say) covered too. */
export async function edgeSignedGet(
  secret: string,
  pathAndQuery: string,
  vouched: Record<string, string> = {},
): Promise<Record<string, string>> {
  const timestampS = Math.floor(Date.now() / 1000);
  const signature = await sign(secret, { method: "GET", pathAndQuery, timestampS, bodySha256: await sha256Hex(""), headers: vouched });
  return { ...vouched, [timestampHeader]: String(timestampS), [signatureHeader]: signature };
}

/** Where the edge looks a key's record up on a cache miss: `GET /internal/keys/:sha256`. */
export const keyRecordPath = (key: string): string => `/internal/keys/${hashApiKey(key).toString("hex")}`;
