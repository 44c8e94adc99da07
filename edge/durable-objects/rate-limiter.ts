import { DurableObject } from "cloudflare:workers";
import { gcraAdjust, gcraConsume, gcraIsFull, type GcraDecision, type GcraState } from "../../shared/gcra.ts";

/** A bucket's policy as the caller knows it (from the key record): `limit` units per `periodMs`. */
export interface Bucket {
  /** e.g. `requests`, `tokens`, `auth-failures`. */
  bucket: string;
  limit: number;
  periodMs: number;
}

export interface BucketLevel extends Bucket {
  remaining: number;
  resetMs: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Until every bucket that refused could take its cost; 0 when allowed. */
  retryAfterMs: number;
  levels: BucketLevel[];
}

/** Buckets are forgotten this long after they last held any debt. */
const forgetAfterMs = 60_000;

/**
 * Exact GCRA limits for one name (an API key, a tenant, a client IP), one instance per
 * name worldwide. Each method reads, decides and writes without awaiting anything, so
 * concurrent calls run one after another and no two can spend the same unit; the state
 * lives in SQLite and survives restarts.
 */
export class RateLimiter extends DurableObject<unknown> {
  // `unknown` bindings: it reads none, and so need not import `Env`, which imports this class.
  /** When the clean-up alarm is set for, as far as this instance knows. */
  private alarmAt: number | undefined;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec("create table if not exists buckets (name text primary key, tat text not null, scale integer not null)");
  }

  /**
   * Spends `cost` from every bucket, or from none when any of them lacks it. `corrections`
   * (see `adjust`) are applied first, whatever the answer: usage settled since the last call.
   */
  take(buckets: (Bucket & { cost: number })[], corrections: (Bucket & { delta: number })[] = []): TakeResult {
    if (corrections.length > 0) this.adjust(corrections);
    const now = Date.now();
    const decisions = buckets.map((bucket) => gcraConsume(this.load(bucket.bucket), bucket, bucket.cost, now));
    const allowed = decisions.every((decision) => decision.allowed);
    if (allowed) {
      buckets.forEach((bucket, i) => this.store(bucket.bucket, decisions[i]!.state));
      this.scheduleCleanUp(now, decisions);
    }
    return {
      allowed,
      retryAfterMs: Math.max(0, ...decisions.map((decision) => decision.retryAfterMs)),
      levels: buckets.map((bucket, i) => level(bucket, decisions[i]!)),
    };
  }

  /** What `take` would answer, spending nothing. */
  peek(buckets: (Bucket & { cost: number })[]): TakeResult {
    const now = Date.now();
    const decisions = buckets.map((bucket) => gcraConsume(this.load(bucket.bucket), bucket, bucket.cost, now));
    return {
      allowed: decisions.every((decision) => decision.allowed),
      retryAfterMs: Math.max(0, ...decisions.map((decision) => decision.retryAfterMs)),
      levels: buckets.map((bucket, i) => level(bucket, decisions[i]!)),
    };
  }

  /**
   * Charges (`delta` > 0) or gives back (`delta` < 0) units whatever the limit says: usage
   * that turned out larger or smaller than reserved, or a reservation rolled back.
   */
  adjust(buckets: (Bucket & { delta: number })[]): BucketLevel[] {
    const now = Date.now();
    const decisions = buckets.map((bucket) => gcraAdjust(this.load(bucket.bucket), bucket, bucket.delta, now));
    buckets.forEach((bucket, i) => this.store(bucket.bucket, decisions[i]!.state));
    this.scheduleCleanUp(now, decisions);
    return buckets.map((bucket, i) => level(bucket, decisions[i]!));
  }

  /** Forgets buckets that hold no debt, so names seen once (client IPs) do not pile up. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    let latest = 0;
    for (const row of this.ctx.storage.sql.exec<{ name: string; tat: string; scale: number }>("select name, tat, scale from buckets")) {
      const state = { tat: BigInt(row.tat), scale: row.scale };
      if (gcraIsFull(state, now)) this.ctx.storage.sql.exec("delete from buckets where name = ?", row.name);
      else latest = Math.max(latest, Number(state.tat / BigInt(state.scale)));
    }
    this.alarmAt = latest > 0 ? Math.max(latest, now) + forgetAfterMs : undefined;
    if (this.alarmAt !== undefined) await this.ctx.storage.setAlarm(this.alarmAt);
  }

  private load(name: string): GcraState | undefined {
    const [row] = this.ctx.storage.sql
      .exec<{ tat: string; scale: number }>("select tat, scale from buckets where name = ?", name)
      .toArray();
    return row ? { tat: BigInt(row.tat), scale: row.scale } : undefined;
  }

  private store(name: string, state: GcraState): void {
    this.ctx.storage.sql.exec(
      "insert into buckets (name, tat, scale) values (?, ?, ?) on conflict (name) do update set tat = excluded.tat, scale = excluded.scale",
      name,
      state.tat.toString(),
      state.scale,
    );
  }

  private scheduleCleanUp(now: number, decisions: GcraDecision[]): void {
    const drainedAt = now + Math.max(0, ...decisions.map((decision) => decision.resetMs));
    // Moved at most once a minute under steady traffic (the alarm re-arms itself if early).
    if (this.alarmAt !== undefined && drainedAt <= this.alarmAt) return;
    this.alarmAt = drainedAt + forgetAfterMs;
    // The output gate holds replies until the alarm is stored; a failure only skips a clean-up.
    this.ctx.storage.setAlarm(this.alarmAt).catch(() => {});
  }
}

function level(bucket: Bucket, decision: GcraDecision): BucketLevel {
  return {
    bucket: bucket.bucket,
    limit: bucket.limit,
    periodMs: bucket.periodMs,
    remaining: decision.remaining,
    resetMs: decision.resetMs,
  };
}
