/**
 * `RateLimit-Policy` and `RateLimit` in the structured syntax of the IETF draft
 * (draft-ietf-httpapi-ratelimit-headers): one list item per policy, e.g.
 *
 *   RateLimit-Policy: "key-requests";q=600;w=60, "key-tokens";q=400000;w=60;qu="tokens"
 *   RateLimit: "key-requests";r=599;t=1, "key-tokens";r=399750;t=1
 *
 * `q` quota, `w` window in seconds, `qu` quota unit (tokens are not a unit the draft
 * registers; requests are its default), `r` remaining, `t` seconds until the quota is whole.
 */
export interface Quota {
  /** The policy's name, e.g. `key-tokens`. */
  policy: string;
  limit: number;
  periodMs: number;
  unit?: "tokens";
}

export interface QuotaLevel {
  policy: string;
  remaining: number;
  resetMs: number;
}

export function rateLimitHeaders(quotas: Quota[], levels: QuotaLevel[]): Record<string, string> {
  const headers: Record<string, string> = {};
  if (quotas.length > 0) {
    headers["ratelimit-policy"] = quotas
      .map(
        (quota) =>
          `${item(quota.policy)};q=${quota.limit};w=${Math.ceil(quota.periodMs / 1000)}${quota.unit ? `;qu=${item(quota.unit)}` : ""}`,
      )
      .join(", ");
  }
  if (levels.length > 0) {
    headers["ratelimit"] = levels
      .map((level) => `${item(level.policy)};r=${Math.max(0, level.remaining)};t=${Math.ceil(level.resetMs / 1000)}`)
      .join(", ");
  }
  return headers;
}

/** An sf-string: the names here are ASCII words, escaped anyway. */
function item(text: string): string {
  return `"${text.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}
