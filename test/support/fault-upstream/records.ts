import type { FaultRule } from "./rules.ts";

export type Endpoint = "chat" | "embeddings" | "models" | "other";

/**
 * How a request ended: `completed` (the whole response was handed to the socket),
 * `client-gone` (the connection closed before that), `cut` / `reset` (this upstream dropped it
 * on purpose), `pending` (still going).
 */
export type Outcome = "pending" | "completed" | "client-gone" | "cut" | "reset";

/** Times are epoch milliseconds (fractional), comparable with `Date.now()` in a test process on the same machine. */
export interface RequestRecord {
  /** Increasing from 1 in arrival order; `afterId` filters on it. */
  id: number;
  provider: string;
  method: string;
  path: string;
  endpoint: Endpoint;
  /** The body's `model`, null when there is none (or the body is not JSON). */
  model: string | null;
  stream: boolean;
  receivedAt: number;
  bodyBytes: number;
  /** The script rule that answered it; null: the healthy default. */
  rule: FaultRule | null;
  /** The status sent, null while no headers went out. */
  status: number | null;
  headersAt: number | null;
  /** Content chunks sent (streams). */
  chunks: number;
  outcome: Outcome;
  completedAt: number | null;
  /** When the client closed the connection before the response was complete. */
  clientGoneAt: number | null;
  /** The W3C trace context the request carried (`traceparent`, `tracestate`), null when none. */
  traceparent: string | null;
  tracestate: string | null;
}

/** Query of the control port's `GET /control/requests`; every field narrows. */
export interface RequestFilter {
  provider?: string;
  model?: string;
  endpoint?: Endpoint;
  stream?: boolean;
  outcome?: Outcome;
  /** Only records with a larger id: what came in since a record the test already saw. */
  afterId?: number;
}

export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
}

export interface Records {
  /** Registers a request as it arrives; the handler fills in the rest as it goes. */
  open(provider: string, method: string, path: string, endpoint: Endpoint, receivedAt: number, trace?: TraceHeaders): RequestRecord;
  list(filter?: RequestFilter): RequestRecord[];
  clear(): void;
}

/**
 * Every request every provider received. Arrival is an append and the handler keeps its
 * own record object, so the hot path never scans; only the control port's queries do.
 */
export function createRecords(): Records {
  let records: RequestRecord[] = [];
  let nextId = 1;

  return {
    open(provider, method, path, endpoint, receivedAt, trace = {}) {
      const record: RequestRecord = {
        id: nextId++,
        provider,
        method,
        path,
        endpoint,
        model: null,
        stream: false,
        receivedAt,
        bodyBytes: 0,
        rule: null,
        status: null,
        headersAt: null,
        chunks: 0,
        outcome: "pending",
        completedAt: null,
        clientGoneAt: null,
        traceparent: trace.traceparent ?? null,
        tracestate: trace.tracestate ?? null,
      };
      records.push(record);
      return record;
    },
    list(filter = {}) {
      return records.filter(
        (record) =>
          (filter.provider === undefined || record.provider === filter.provider) &&
          (filter.model === undefined || record.model === filter.model) &&
          (filter.endpoint === undefined || record.endpoint === filter.endpoint) &&
          (filter.stream === undefined || record.stream === filter.stream) &&
          (filter.outcome === undefined || record.outcome === filter.outcome) &&
          (filter.afterId === undefined || record.id > filter.afterId),
      );
    },
    clear() {
      // In-flight handlers keep writing to their old records, which no query sees any more.
      records = [];
    },
  };
}
