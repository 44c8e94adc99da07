import { connect } from "cloudflare:sockets";
import { withTimeout } from "../../shared/resilience/deadline.ts";

/** How long the connect check may take; no answer counts as not connectable. */
const connectCheckMs = 500;

/**
 * Whether a new TCP connection to the origin of `url` opens. workerd throws the same
 * "Network connection lost." for a refused connection and for one reset after the request
 * went out; only a fresh connect tells them apart.
 */
export async function connectable(url: string): Promise<boolean> {
  const { hostname, port, protocol } = new URL(url);
  let socket: ReturnType<typeof connect> | undefined;
  try {
    socket = connect({ hostname, port: Number(port || (protocol === "https:" ? 443 : 80)) });
    socket.opened.catch(() => {}); // a late failure after the timeout is of no interest
    await withTimeout(socket.opened, connectCheckMs, () => new Error("connect check timed out"));
    return true;
  } catch {
    return false;
  } finally {
    socket?.close().catch(() => {});
  }
}
