/** The Upstash key under which the edge caches a key record, by the API key's hex SHA-256. */
export function keyRecordCacheKey(keySha256Hex: string): string {
  return `bw:key:${keySha256Hex}`;
}
