/** The key a client presents: `Authorization: Bearer <key>`, else `x-api-key`. */
export function presentedKey(headers: Headers): string | undefined {
  const authorization = headers.get("authorization");
  if (authorization !== null) return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? "";
  return headers.get("x-api-key")?.trim();
}

/** Whether a string can be a Breakwater key at all (`bw_` and 16 to 128 URL-safe characters). */
export function looksLikeApiKey(key: string): boolean {
  return /^bw_[A-Za-z0-9_-]{16,128}$/.test(key);
}
