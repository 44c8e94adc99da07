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
