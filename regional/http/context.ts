import type { KeyRecord } from "../auth/key-store.ts";
import type { AdminAuditDetail } from "./admin-audit.ts";
import type { AdminIdentity } from "./admin-auth.ts";
import type { ClientAddress } from "./client-address.ts";
import type { UsageTap } from "./usage-meter.ts";

/** What middleware leaves on the Hono context for the handlers after it. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Where the request came from (peer, and the client as far as trusted proxies or the edge say). */
    client: ClientAddress;
    auth: KeyRecord;
    /** Set by adminAuth on /admin routes. */
    admin: AdminIdentity;
    /** Set by adminAudit on /admin routes; handlers name their action in it. */
    auditDetail: AdminAuditDetail;
    /** The request body, when a middleware already read it (edgeSignature, to check it). */
    body: Uint8Array;
    /** Set by usageMeter on inference routes; they report what they served through it. */
    usage: UsageTap;
  };
}
