/**
 * Where a request came from, as `clientAddressing` (client-ip.ts) works it out. A leaf
 * module: the context type, the audit and auth-failure sampling all name it.
 */
export interface ClientAddress {
  /** The peer of the TCP connection: the edge, a load balancer or the client itself. */
  peer: string | null;
  /**
   * The client as far as it can be told: what trusted proxies forwarded, or what the edge
   * vouched for in its signature, else the peer. What audit events and sampling go by.
   */
  client: string | null;
  /** What the forwarded-address headers claimed, believed or not; kept beside the peer in audit events. */
  claimed: string | null;
}

/** The part of the app's context the client address lives in (see context.ts). */
export interface ClientAddressEnv {
  Variables: { client: ClientAddress };
}
