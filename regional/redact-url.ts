/**
 * URLs as they may be shown (audit log, logs): no user-info, query or fragment, where
 * connection strings carry passwords (`postgres://app:<password>@db/app`, `redis://:<password>@...`,
 * `?password=`, `?sslpassword=`). What is left — scheme, host, port, path — names the service.
 */
export function urlWithoutCredentials(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  // `mailto:`-like URLs have no authority: their whole text could be anything.
  if (!text.includes("//")) return null;
  return `${url.protocol}//${url.host}${url.pathname === "/" && !text.endsWith("/") ? "" : url.pathname}`;
}

// scheme://user-info@ — the user-info ends at the last @ before the path.
const userInfo = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi;
const credentialQuery = /([?&](?:password|passwd|pass|pwd|token|secret|key|api[-_]?key|access[-_]?token|sslpassword)=)[^&#\s"']*/gi;

/** Free text with every URL's user-info and credential-looking query values replaced: for log lines and error messages. */
export function scrubUrlCredentials(text: string): string {
  return text.replace(userInfo, "$1[redacted]@").replace(credentialQuery, "$1[redacted]");
}
