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

/**
 * One window of a spend budget, as the Worker computed it from its clock and the budget's
 * time zone: the window is named by the budget and its start, so a correction sent after
 * the window ended still lands in it.
 */
export interface BudgetWindow {
  /** The budget's id. */
  budget: string;
  /** Epoch ms the window started at and ends (resets) at. */
  start: number;
  resetAt: number;
}

/** What a request reserves from a budget window; amounts are integers in the budget's unit (micro-dollars or tokens). */
export interface BudgetCharge extends BudgetWindow {
  limit: number;
  /** `used` at or above this makes the window warn; null: it never does. */
  softLimit: number | null;
  cost: number;
}

/** A budget window's amount changed whatever its limit says: usage settled, or a reservation given back. */
export interface BudgetCorrection extends BudgetWindow {
  delta: number;
}

export interface BudgetLevel extends BudgetWindow {
  limit: number;
  /** What the window holds after this call: settled usage plus the reservations still open. */
  used: number;
  /** Whether the window let the request in (`used` was below `limit` before it). */
  allowed: boolean;
  /** `used` is at or above the soft limit. */
  warn: boolean;
  /** This call is the first in the window to find it at or past its soft limit (and it was let in). */
  crossed: boolean;
}

export type Correction = (Bucket & { delta: number }) | BudgetCorrection;

export interface TakeResult {
  allowed: boolean;
  /** Until every bucket and budget window that refused could take its cost; 0 when allowed. */
  retryAfterMs: number;
  levels: BucketLevel[];
  budgets: BudgetLevel[];
}

/** Buckets are forgotten this long after they last held any debt. */
const forgetAfterMs = 60_000;
/**
 * Budget windows are kept this long after they ended, so that a request reserved before the
 * reset that settles after it (a long stream across midnight) still corrects its own window.
 */
export const windowMarginMs = 3_600_000;

interface WindowRow {
  used: number;
  crossed: number;
}

/**
 * Exact GCRA limits and spend budgets for one name (an API key, a tenant, a client IP), one
 * instance per name worldwide. Each method reads, decides and writes without awaiting
 * anything, so concurrent calls run one after another and no two can spend the same unit;
 * the state lives in SQLite and survives restarts.
 */
export class RateLimiter extends DurableObject<unknown> {
  // `unknown` bindings: it reads none, and so need not import `Env`, which imports this class.
  /** When the clean-up alarm is set for, as far as this instance knows. */
  private alarmAt: number | undefined;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec("create table if not exists buckets (name text primary key, tat text not null, scale integer not null)");
    ctx.storage.sql.exec(
      "create table if not exists budget_windows (budget text not null, start integer not null, reset_at integer not null, used integer not null, crossed integer not null, primary key (budget, start))",
    );
  }

  /**
   * Spends `cost` from every bucket and budget window, or from none when any of them lacks
   * it: a bucket by GCRA, a budget window while what it holds is below its limit (so requests
   * side by side overshoot it by one reservation at most). `corrections` (see `adjust`) are
   * applied first, whatever the answer: usage settled since the last call.
   */
  take(buckets: (Bucket & { cost: number })[], corrections: Correction[] = [], budgets: BudgetCharge[] = []): TakeResult {
    if (corrections.length > 0) this.adjust(corrections);
    const now = Date.now();
    const decisions = buckets.map((bucket) => gcraConsume(this.load(bucket.bucket), bucket, bucket.cost, now));
    const windows = budgets.map((charge) => this.loadWindow(charge));
    const allowed = decisions.every((decision) => decision.allowed) && budgets.every((charge, i) => windows[i]!.used < charge.limit);
    if (allowed) {
      buckets.forEach((bucket, i) => this.store(bucket.bucket, decisions[i]!.state));
      this.scheduleCleanUp(now, decisions);
    }
    const budgetLevels = budgets.map((charge, i) => {
      const before = windows[i]!;
      if (!allowed) return budgetLevel(charge, before.used, before.used < charge.limit, false);
      const used = before.used + charge.cost;
      const crossed = before.crossed === 0 && charge.softLimit !== null && used >= charge.softLimit;
      this.storeWindow(charge, used, before.crossed === 1 || crossed);
      return budgetLevel(charge, used, true, crossed);
    });
    if (allowed && budgets.length > 0) this.scheduleWindowCleanUp(budgets);
    return {
      allowed,
      retryAfterMs: allowed ? 0 : retryAfter(now, decisions, budgets, windows),
      levels: buckets.map((bucket, i) => level(bucket, decisions[i]!)),
      budgets: budgetLevels,
    };
  }

  /** What `take` would answer, spending nothing. */
  peek(buckets: (Bucket & { cost: number })[], budgets: BudgetCharge[] = []): TakeResult {
    const now = Date.now();
    const decisions = buckets.map((bucket) => gcraConsume(this.load(bucket.bucket), bucket, bucket.cost, now));
    const windows = budgets.map((charge) => this.loadWindow(charge));
    const allowed = decisions.every((decision) => decision.allowed) && budgets.every((charge, i) => windows[i]!.used < charge.limit);
    return {
      allowed,
      retryAfterMs: allowed ? 0 : retryAfter(now, decisions, budgets, windows),
      levels: buckets.map((bucket, i) => level(bucket, decisions[i]!)),
      budgets: budgets.map((charge, i) => budgetLevel(charge, windows[i]!.used, windows[i]!.used < charge.limit, false)),
    };
  }

  /**
   * Charges (`delta` > 0) or gives back (`delta` < 0) units whatever the limit says: usage
   * that turned out larger or smaller than reserved, or a reservation rolled back. A budget
   * correction goes to the window it names, also after that window ended (within
   * `windowMarginMs`); a window never holds less than nothing.
   */
  adjust(changes: Correction[]): BucketLevel[] {
    const now = Date.now();
    const buckets = changes.filter((change): change is Bucket & { delta: number } => !("budget" in change));
    for (const change of changes) if ("budget" in change) this.correctWindow(change, now);
    const decisions = buckets.map((bucket) => gcraAdjust(this.load(bucket.bucket), bucket, bucket.delta, now));
    buckets.forEach((bucket, i) => this.store(bucket.bucket, decisions[i]!.state));
    if (buckets.length > 0) this.scheduleCleanUp(now, decisions);
    return buckets.map((bucket, i) => level(bucket, decisions[i]!));
  }

  /**
   * Forgets buckets that hold no debt, so names seen once (client IPs) do not pile up, and
   * budget windows `windowMarginMs` after they ended.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    let latest = 0;
    for (const row of this.ctx.storage.sql.exec<{ name: string; tat: string; scale: number }>("select name, tat, scale from buckets")) {
      const state = { tat: BigInt(row.tat), scale: row.scale };
      if (gcraIsFull(state, now)) this.ctx.storage.sql.exec("delete from buckets where name = ?", row.name);
      else latest = Math.max(latest, Number(state.tat / BigInt(state.scale)));
    }
    this.ctx.storage.sql.exec("delete from budget_windows where reset_at <= ?", now - windowMarginMs);
    const [next] = this.ctx.storage.sql.exec<{ at: number | null }>("select min(reset_at) as at from budget_windows").toArray();
    const windowsAt = next?.at == null ? undefined : next.at + windowMarginMs;
    const bucketsAt = latest > 0 ? Math.max(latest, now) + forgetAfterMs : undefined;
    this.alarmAt = bucketsAt === undefined ? windowsAt : windowsAt === undefined ? bucketsAt : Math.min(bucketsAt, windowsAt);
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

  private loadWindow(window: BudgetWindow): WindowRow {
    const [row] = this.ctx.storage.sql
      .exec<{ used: number; crossed: number }>(
        "select used, crossed from budget_windows where budget = ? and start = ?",
        window.budget,
        window.start,
      )
      .toArray();
    return row ?? { used: 0, crossed: 0 };
  }

  private storeWindow(window: BudgetWindow, used: number, crossed: boolean): void {
    this.ctx.storage.sql.exec(
      "insert into budget_windows (budget, start, reset_at, used, crossed) values (?, ?, ?, ?, ?) on conflict (budget, start) do update set used = excluded.used, crossed = excluded.crossed",
      window.budget,
      window.start,
      window.resetAt,
      used,
      crossed ? 1 : 0,
    );
  }

  private correctWindow(change: BudgetCorrection, now: number): void {
    // A window already forgotten stays forgotten: what settles that late has nothing left to limit.
    if (change.resetAt <= now - windowMarginMs) return;
    const before = this.loadWindow(change);
    this.storeWindow(change, Math.max(0, before.used + change.delta), before.crossed === 1);
  }

  /** Makes sure an alarm will come to forget these windows; any alarm re-arms itself for what is left. */
  private scheduleWindowCleanUp(windows: BudgetWindow[]): void {
    if (this.alarmAt !== undefined) return;
    this.alarmAt = Math.min(...windows.map((window) => window.resetAt)) + windowMarginMs;
    this.ctx.storage.setAlarm(this.alarmAt).catch(() => {});
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

function budgetLevel(charge: BudgetCharge, used: number, allowed: boolean, crossed: boolean): BudgetLevel {
  return {
    budget: charge.budget,
    start: charge.start,
    resetAt: charge.resetAt,
    limit: charge.limit,
    used,
    allowed,
    warn: charge.softLimit !== null && used >= charge.softLimit,
    crossed,
  };
}

/** How long until every bucket and budget window that refused could take its cost. */
function retryAfter(now: number, decisions: GcraDecision[], budgets: BudgetCharge[], windows: WindowRow[]): number {
  const buckets = decisions.map((decision) => decision.retryAfterMs);
  const resets = budgets.map((charge, i) => (windows[i]!.used < charge.limit ? 0 : charge.resetAt - now));
  return Math.max(0, ...buckets, ...resets);
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
