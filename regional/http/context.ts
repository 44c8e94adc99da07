import type { Context } from "@opentelemetry/api";
import type { KeyRecord } from "../auth/key-store.ts";
import type { Usage } from "../../shared/contract/chat.ts";
import type { ClientAddress } from "./client-address.ts";
import type { StreamEnd } from "../../shared/http/stream-end.ts";
import type { Billed } from "../pricing/cost.ts";
import type { Money } from "../pricing/money.ts";

/** What middleware leaves on the Hono context for the handlers after it. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** The W3C trace this request belongs to (32 hex), set by the tracing middleware; logs and error bodies carry it. */
    traceId: string;
    /**
     * The request's trace context, set by the tracing middleware: its server span, or with
     * tracing off the incoming `traceparent`'s (ROOT when none). Handed to provider calls.
     */
    trace: Context;
    /** Registers a listener told when the answer ends (an SSE answer: when its stream does); set by `responseEnd`. */
    onResponseEnd: (listener: OnResponseEnd) => void;
    /**
     * For a route that builds its SSE body and knows how it ends: takes over telling the end
     * from `responseEnd`, which then leaves the body as it is (no stream wrapped around it),
     * and returns what to call, once, when the stream ended.
     */
    reportStreamEnd: () => OnResponseEnd;
    /** Where the request came from (peer, and the client as far as trusted proxies or the edge say). */
    client: ClientAddress;
    auth: KeyRecord;
    /** Set by adminAuth on /admin routes. */
    admin: AdminIdentity;
    /** Set by adminAudit on /admin routes; handlers name their action in it. */
    auditDetail: AdminAuditDetail;
    /** The request body, when a middleware already read it (edgeSignature, to check it). */
    body: Uint8Array<ArrayBuffer>;
    /** Set by edgeSignature for an upload the edge streamed: the length it signed (undefined: none declared), which the body must have. */
    streamedBody: { length: number | undefined };
    /** Set by usageMeter on inference routes; they report what they served through it. */
    usage: UsageTap;
  };
}

/** Who an admin request runs as; `actorId` names the admin credential without revealing it. */
export interface AdminIdentity {
  actorId: string;
}

/** What a handler tells the audit middleware about the action it performs. */
export interface AdminAuditDetail {
  action: string;
  resource: string;
  tenantId: string | null;
  metadata: Record<string, unknown>;
  /** Set when the action's event was written in the action's own transaction (see `auditedCommit`). */
  committedEventId?: string;
}

/** What an inference route reports of the answer it gave. */
export interface Measured {
  model: string | null;
  usage?: Partial<Usage> | null;
  /** What each serving target reported using, to price the answer by; unset, its cost is unknown. */
  billed?: readonly Billed[];
}

/**
 * How a route tells the meter what it served: `set` for an answer complete when the handler
 * returns, `defer` for a stream, whose returned `finish` is called once it ends. `cost` prices
 * usage for a stream, which tells its cost before it ends (a whole answer's the meter adds).
 */
export interface UsageTap {
  set(measured: Measured): void;
  defer(): (measured: Measured | null) => void;
  cost(billed: readonly Billed[]): Money | null;
}

/** How an answer ended: sent whole (a stream: with its `[DONE]`), cut by an error, or the client hung up. */
export type ResponseEnd = StreamEnd;

/** Told once when the answer ends (see `responseEnd` in response-end.ts). */
export type OnResponseEnd = (end: ResponseEnd) => void;
