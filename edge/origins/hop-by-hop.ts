/** Headers that describe one connection, not the message (RFC 9110 §7.6.1). */
const connectionHeaders = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

/**
 * A copy of `headers` fit to send over the next hop: without hop-by-hop headers,
 * `proxy-*` headers, any header named in `Connection`, and without `host` (the next
 * hop's URL decides it).
 */
export function endToEndHeaders(headers: Headers): Headers {
  const named = new Set(
    (headers.get("connection") ?? "")
      .split(",")
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ""),
  );
  // Copy first, then delete: the copy keeps repeated headers such as set-cookie intact.
  const kept = new Headers(headers);
  for (const name of [...kept.keys()]) {
    if (name === "host" || connectionHeaders.has(name) || name.startsWith("proxy-") || named.has(name)) {
      kept.delete(name);
    }
  }
  return kept;
}
