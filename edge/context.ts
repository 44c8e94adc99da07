import type { KeyRecord } from "../shared/contract/keys.ts";
import type { StartedLookup } from "./cache/lookup.ts";
import type { Env } from "./env.ts";

/** Values middleware puts on the Hono context for later handlers. */
export interface Variables {
  requestId: string;
  /** The caller's key record, once authenticated. */
  key: KeyRecord;
  /** The request body as read (and, for usage accounting, possibly rewritten) at the edge; null without one. */
  body: Uint8Array | null;
  /** Set by the cache when the answer came without an origin call of this request's own: no tokens are charged. */
  cacheServed: boolean;
  /** The response cache's decision and lookup, started before the rate limiter. */
  cacheLookup: StartedLookup;
}

/** The Hono environment of the edge app. */
export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}
