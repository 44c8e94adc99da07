// What the globalSetup files hand to tests through `inject()` (and to vitest configs through `inject` there).
declare module "vitest" {
  export interface ProvidedContext {
    /** Primary of the shared cluster: database `breakwater`, user `postgres` (superuser, trust auth, no password). */
    primaryUrl: string;
    /** Streaming replica of `primaryUrl`. Shared by every file: never stop it or pause its replay. */
    replicaUrl: string;
    /** The shared redis-server, `redis://127.0.0.1:<port>`. */
    redisUrl: string;
    /** Upstash REST shim over `redisUrl`: `new Redis({ url: upstashUrl, token: upstashToken })`. */
    upstashUrl: string;
    upstashToken: string;
  }
}

export {};
