import type { Context } from "hono";
import type { ClientAddress } from "../http/client-address.ts";
import { auditActions, type ActorType } from "./event.ts";
import type { AuditLog } from "./writer.ts";

export interface AuthFailure {
  /** `key` with the presented key's prefix, `admin` for the admin API, `anonymous` when nothing usable was sent. */
  actorType: ActorType;
  actorId: string;
  action: string;
  reason: string;
  tenantId?: string | null;
  /** Where the request came from (`clientAddress(c)`): sampled by the client address trusted proxies vouch for. */
  address: ClientAddress;
}

/** Records failed authentications, sampled so that an attack cannot flood the audit log. */
export interface AuthFailureAuditor {
  record(c: Context, failure: AuthFailure): void;
  /** Writes the counts still held back as one summary event and stops the sweep timer. */
  stop(): void;
}

export interface AuthFailureSampling {
  /** Events per client address and minute once its burst is used up. */
  perClientPerMinute: number;
  /** Events a client address may cause back to back. */
  burst?: number;
  /** Events per second over all clients, so a spread-out attack is bounded too. */
  globalPerSecond?: number;
  /** Client addresses tracked one by one; beyond this they share one bucket until the next sweep. */
  maxClients?: number;
  /** How often suppressed counts nobody reported yet are written as a summary. */
  sweepIntervalMs?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
  suppressed: number;
}

const overflowClient = "*";

/**
 * A token bucket per client address plus one over everything. A failure that finds a token
 * becomes an audit event carrying how many of the same client's failures were suppressed
 * before it; counts never reported that way go into one summary event per sweep, so the log
 * says how many failures there were even when it does not list each.
 */
export function createAuthFailureAuditor(audit: AuditLog, sampling: AuthFailureSampling): AuthFailureAuditor {
  const now = sampling.now ?? Date.now;
  const burst = sampling.burst ?? Math.max(1, Math.min(5, sampling.perClientPerMinute));
  const perMs = sampling.perClientPerMinute / 60_000;
  const globalBurst = sampling.globalPerSecond ?? 20;
  const globalPerMs = globalBurst / 1_000;
  const maxClients = sampling.maxClients ?? 10_000;
  const clients = new Map<string, Bucket>();
  const everyone: Bucket = { tokens: globalBurst, at: now(), suppressed: 0 };

  const refill = (bucket: Bucket, at: number, rate: number, capacity: number) => {
    bucket.tokens = Math.min(capacity, bucket.tokens + (at - bucket.at) * rate);
    bucket.at = at;
  };

  function sweep(final: boolean): void {
    const at = now();
    let suppressed = 0;
    const top: { client: string; suppressed: number }[] = [];
    for (const [client, bucket] of clients) {
      if (bucket.suppressed > 0) {
        suppressed += bucket.suppressed;
        top.push({ client, suppressed: bucket.suppressed });
        bucket.suppressed = 0;
      }
      refill(bucket, at, perMs, burst);
      if (bucket.tokens >= burst) clients.delete(client);
    }
    if (suppressed === 0) return;
    top.sort((a, b) => b.suppressed - a.suppressed);
    audit.append({
      actorType: "anonymous",
      actorId: "auth-failure-summary",
      action: auditActions.authFailureSummary,
      result: "denied",
      metadata: { suppressed, clients: top.length, top: top.slice(0, 10), final },
    });
  }

  const timer = setInterval(() => sweep(false), sampling.sweepIntervalMs ?? 60_000);
  timer.unref();

  return {
    record(c, failure) {
      const at = now();
      const { address } = failure;
      // Keyed by the address trusted proxies vouch for, never by a header anyone can set:
      // a client changing X-Forwarded-For on every try must not get a fresh allowance each time.
      let client = address.client ?? "unknown";
      if (!clients.has(client) && clients.size >= maxClients) client = overflowClient;
      let bucket = clients.get(client);
      if (!bucket) {
        bucket = { tokens: burst, at, suppressed: 0 };
        clients.set(client, bucket);
      }
      refill(bucket, at, perMs, burst);
      refill(everyone, at, globalPerMs, globalBurst);
      if (bucket.tokens < 1 || everyone.tokens < 1) {
        bucket.suppressed++;
        return;
      }
      bucket.tokens -= 1;
      everyone.tokens -= 1;
      const suppressed = bucket.suppressed;
      bucket.suppressed = 0;
      audit.append({
        actorType: failure.actorType,
        actorId: failure.actorId,
        action: failure.action,
        result: "denied",
        resource: `${c.req.method} ${c.req.path}`,
        tenantId: failure.tenantId ?? null,
        ip: address.client,
        userAgent: c.req.header("user-agent") ?? null,
        requestId: (c.get("requestId") as string | undefined) ?? null,
        metadata: { reason: failure.reason, suppressed_before: suppressed, peer: address.peer, forwarded_for: address.claimed },
      });
    },
    stop() {
      clearInterval(timer);
      sweep(true);
    },
  };
}
