/** The Worker's bindings, declared as `[vars]` in wrangler.toml. */
export interface Env {
  /** Base URL of the regional service, e.g. `http://127.0.0.1:8788`; `/v1/*` is forwarded under it. */
  REGIONAL_ORIGIN: string;
  /** Milliseconds to wait for the origin's response headers before answering 504. */
  ORIGIN_TIMEOUT_MS: string;
}

/** Values middleware puts on the Hono context for later handlers. */
export interface Variables {
  requestId: string;
}

/** The Hono environment of the edge app. */
export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}
