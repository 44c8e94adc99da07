import type { KeyRecord } from "../auth/key-store.ts";

/** What middleware leaves on the Hono context for the handlers after it. */
export interface AppEnv {
  Variables: {
    requestId: string;
    auth: KeyRecord;
  };
}
