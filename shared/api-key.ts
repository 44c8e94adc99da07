/**
 * The key a client presents: `Authorization: Bearer <key>`, else `x-api-key`. An
 * Authorization header that is not a bearer key presents an empty key (refused), rather
 * than falling through to `x-api-key`. `header` reads one request header.
 */
export function presentedKey(header: (name: string) => string | null | undefined): string | undefined {
  const authorization = header("authorization");
  if (authorization !== null && authorization !== undefined) return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? "";
  return header("x-api-key")?.trim();
}

/** Whether a string can be a Breakwater key at all (`bw_` and 16 to 128 URL-safe characters). */
export function looksLikeApiKey(key: string): boolean {
  return /^bw_[A-Za-z0-9_-]{16,128}$/.test(key);
}
