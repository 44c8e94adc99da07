import { GatewayError } from "../../shared/error.ts";
import { freshCodel, observeWait, queueEmptied, type CodelPolicy } from "./codel.ts";
import { priorities, rankOf, type Priority } from "./priority.ts";
import { nextEwma, recordWait, summary, waitWindow, type WaitSummary } from "./wait-window.ts";

export interface QueuePolicy extends CodelPolicy {
  /** Requests served at once; the rest wait. */
  concurrency: number;
  /** Requests waiting at most; beyond, the heaviest tenant's newest (or the newcomer) is shed. */
  maxQueued: number;
  /** Longest any request waits for a slot before it is answered 503. */
  maxWaitMs: number;
}

/** Generous: a routes file that sets no `queue` keeps today's behaviour (nothing waits below 1024 at once). */
export const defaultQueuePolicy: QueuePolicy = { concurrency: 1024, maxQueued: 1024, maxWaitMs: 10_000, targetMs: 20, intervalMs: 100 };

/** Time and timers, injected: unit tests drive the queue with a manual clock. */
export interface QueueClock {
  now(): number;
  /** Runs `run` after `ms`; the returned function cancels it. */
  after(ms: number, run: () => void): () => void;
}

export const realQueueClock: QueueClock = {
  now: () => performance.now(),
  after(ms, run) {
    const timer = setTimeout(run, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** Who asks for a slot. */
export interface Ticket {
  tenant: string;
  priority: Priority;
  /** The client's: a client that leaves while waiting gives its place up. */
  signal?: AbortSignal;
  /** Refused at once instead of waiting when no slot is free (a route degraded to `fail_fast` while shedding). */
  noWait?: boolean;
}

/** A slot held; `release` (idempotent) hands it to the next waiting request. */
export interface Slot {
  readonly waitedMs: number;
  release(): void;
}

export interface QueueSnapshot {
  name: string;
  policy: QueuePolicy;
  inFlight: number;
  queued: number;
  /** The delay stayed above target for an interval: requests at or over their share are shed. */
  shedding: boolean;
  /** Over the last 512 admissions, immediate ones (0 ms) included. */
  wait: WaitSummary;
  totals: { admitted: number; waited: number; shedOverloaded: number; shedOverShare: number; timedOut: number; abandoned: number };
  priorities: Record<Priority, { queued: number; waitEwmaMs: number }>;
  /** Tenants with a request in flight or waiting. */
  tenants: Array<{ tenant: string; inFlight: number; queued: number; waitEwmaMs: number }>;
}

export interface FairQueue {
  readonly name: string;
  readonly policy: QueuePolicy;
  /** A slot now (the common case, synchronous), later, or a `GatewayError` when shed. */
  admit(ticket: Ticket): Slot | Promise<Slot>;
  shedding(): boolean;
  snapshot(): QueueSnapshot;
}

interface TenantLoad {
  id: string;
  inFlight: number;
  queued: number;
  waitEwmaMs: number;
  waits: number;
}

interface Waiting {
  load: TenantLoad;
  lane: Lane;
  enqueuedAt: number;
  live: boolean;
  resolve(slot: Slot): void;
  reject(error: unknown): void;
  cancelTimer(): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** One tenant's waiting requests at one priority, oldest first (removed ones are skipped lazily). */
interface Lane {
  level: Level;
  load: TenantLoad;
  items: Waiting[];
  head: number;
  live: number;
}

/** One priority: its tenants' lanes served round robin, one request each per turn. */
interface Level {
  lanes: Map<string, Lane>;
  ring: Lane[];
  cursor: number;
  live: number;
  waitEwmaMs: number;
  waits: number;
}

/**
 * A route's admission queue: `concurrency` slots, and behind them requests waiting by
 * priority (strictly: `high` before `normal` before `low`), round robin across tenants within
 * a priority — deficit round robin with equal quanta and unit cost — so a tenant flooding the
 * queue waits behind itself, not in front of others. Bounded in size and in each request's
 * wait; sheds CoDel-style: once the delay has stayed above `targetMs` for `intervalMs`, a
 * request that would wait is answered at once unless its tenant holds less than its share
 * (429 `tenant_over_share` when over it, else 503 `overloaded`). An empty queue admits
 * without a timer, a listener or a promise.
 */
export function createFairQueue(name: string, policy: QueuePolicy, clock: QueueClock = realQueueClock): FairQueue {
  let inFlight = 0;
  let queued = 0;
  const loads = new Map<string, TenantLoad>();
  const levels: Level[] = priorities.map(() => ({ lanes: new Map(), ring: [], cursor: 0, live: 0, waitEwmaMs: 0, waits: 0 }));
  const codel = freshCodel();
  const window = waitWindow();
  const totals = { admitted: 0, waited: 0, shedOverloaded: 0, shedOverShare: 0, timedOut: 0, abandoned: 0 };

  const loadOf = (tenant: string): TenantLoad => {
    let load = loads.get(tenant);
    if (!load) loads.set(tenant, (load = { id: tenant, inFlight: 0, queued: 0, waitEwmaMs: 0, waits: 0 }));
    return load;
  };
  const forget = (load: TenantLoad) => {
    if (load.inFlight === 0 && load.queued === 0) loads.delete(load.id);
  };
  const held = (load: TenantLoad) => load.inFlight + load.queued;
  /** Holding more than an equal split of what is in flight and waiting, while others hold some too. */
  const overShare = (load: TenantLoad, tenants = loads.size) => tenants > 1 && held(load) > (inFlight + queued) / tenants;

  function record(load: TenantLoad, rank: number, waitedMs: number): void {
    totals.admitted += 1;
    recordWait(window, waitedMs);
    const level = levels[rank] as Level;
    level.waitEwmaMs = nextEwma(level.waitEwmaMs, waitedMs, level.waits++ === 0);
    load.waitEwmaMs = nextEwma(load.waitEwmaMs, waitedMs, load.waits++ === 0);
  }

  function slotFor(load: TenantLoad, waitedMs: number): Slot {
    let released = false;
    return {
      waitedMs,
      release() {
        if (released) return;
        released = true;
        inFlight -= 1;
        load.inFlight -= 1;
        forget(load);
        dispatch();
      },
    };
  }

  function shed(overTheShare: boolean, why: string): GatewayError {
    if (overTheShare) totals.shedOverShare += 1;
    else totals.shedOverloaded += 1;
    return new GatewayError(overTheShare ? "tenant_over_share" : "overloaded", {
      message: overTheShare
        ? `'${name}' is at capacity and this tenant holds more than its share of it (${why}); retry shortly.`
        : `'${name}' is at capacity (${why}); retry shortly.`,
      retryAfterS: Math.max(1, Math.ceil(Math.max(policy.intervalMs, window.ewmaMs) / 1000)),
      // Answered without calling any provider: the edge must not count this against the origin.
      headers: { "x-breakwater-attempts": "0" },
    });
  }

  /** Takes a waiting request out of its lane; its promise is settled by the caller. */
  function remove(entry: Waiting): void {
    entry.live = false;
    entry.cancelTimer();
    entry.signal?.removeEventListener("abort", entry.onAbort as () => void);
    const { lane, load } = entry;
    const level = lane.level;
    lane.live -= 1;
    level.live -= 1;
    load.queued -= 1;
    queued -= 1;
    if (lane.live === 0) {
      level.lanes.delete(load.id);
      const index = level.ring.indexOf(lane);
      level.ring.splice(index, 1);
      if (index < level.cursor) level.cursor -= 1;
    } else if (lane.head > 32 && lane.head * 2 > lane.items.length) {
      lane.items = lane.items.slice(lane.head);
      lane.head = 0;
    }
    if (queued === 0) queueEmptied(codel);
  }

  function takeNext(): Waiting | undefined {
    for (const level of levels) {
      if (level.live === 0) continue;
      const index = level.cursor % level.ring.length;
      const lane = level.ring[index] as Lane;
      level.cursor = index + 1;
      while (lane.head < lane.items.length) {
        const entry = lane.items[lane.head++] as Waiting;
        if (entry.live) return entry;
      }
    }
    return undefined;
  }

  function dispatch(): void {
    while (inFlight < policy.concurrency && queued > 0) {
      const entry = takeNext();
      if (!entry) return;
      const now = clock.now();
      const waitedMs = now - entry.enqueuedAt;
      observeWait(codel, waitedMs, now, policy);
      remove(entry);
      const { load } = entry;
      load.inFlight += 1;
      inFlight += 1;
      record(load, levels.indexOf(entry.lane.level), waitedMs);
      entry.resolve(slotFor(load, waitedMs));
    }
  }

  /** The newest request of the heaviest tenant below `rank`, or at `rank` when that tenant is over its share. */
  function pushOutVictim(rank: number, tenant: string, tenants: number): Waiting | undefined {
    for (let r = levels.length - 1; r >= rank; r -= 1) {
      const level = levels[r] as Level;
      let heaviest: Lane | undefined;
      for (const lane of level.ring) if (!heaviest || held(lane.load) > held(heaviest.load)) heaviest = lane;
      if (!heaviest) continue;
      if (r > rank || (heaviest.load.id !== tenant && overShare(heaviest.load, tenants))) {
        for (let i = heaviest.items.length - 1; i >= heaviest.head; i -= 1) {
          const entry = heaviest.items[i] as Waiting;
          if (entry.live) return entry;
        }
      }
    }
    return undefined;
  }

  function wait(ticket: Ticket, now: number): Promise<Slot> {
    if (ticket.signal?.aborted) throw ticket.signal.reason;
    const rank = rankOf(ticket.priority);
    const existing = loads.get(ticket.tenant);
    const tenants = loads.size + (existing ? 0 : 1);
    const mine = existing ? held(existing) : 0;
    const share = (inFlight + queued) / tenants;
    const over = tenants > 1 && mine > share;
    if (ticket.noWait) throw shed(over, "no waiting while the route is degraded");
    if (codel.shedding && mine >= share) throw shed(over, `requests have waited over ${policy.targetMs} ms for ${policy.intervalMs} ms`);
    if (queued >= policy.maxQueued) {
      const victim = pushOutVictim(rank, ticket.tenant, tenants);
      if (!victim) throw shed(over, `${policy.maxQueued} requests waiting`);
      const error = shed(overShare(victim.load, tenants), `${policy.maxQueued} requests waiting`);
      remove(victim);
      forget(victim.load);
      victim.reject(error);
    }

    // Looked up again: pushing out the tenant's own lower-priority request may have dropped its record.
    const load = loadOf(ticket.tenant);
    const level = levels[rank] as Level;
    let lane = level.lanes.get(ticket.tenant);
    if (!lane) {
      lane = { level, load, items: [], head: 0, live: 0 };
      level.lanes.set(ticket.tenant, lane);
      level.ring.push(lane);
    }
    const target = lane;
    return new Promise<Slot>((resolve, reject) => {
      const entry: Waiting = {
        load,
        lane: target,
        enqueuedAt: now,
        live: true,
        resolve,
        reject,
        cancelTimer: () => {},
        signal: ticket.signal,
        onAbort: undefined,
      };
      target.items.push(entry);
      target.live += 1;
      level.live += 1;
      load.queued += 1;
      queued += 1;
      totals.waited += 1;
      entry.cancelTimer = clock.after(policy.maxWaitMs, () => {
        if (!entry.live) return;
        const waitedMs = clock.now() - entry.enqueuedAt;
        const error = shed(overShare(load), `waited ${policy.maxWaitMs} ms, the longest a request may`);
        totals.timedOut += 1;
        observeWait(codel, waitedMs, clock.now(), policy);
        remove(entry);
        forget(load);
        reject(error);
      });
      if (ticket.signal) {
        const signal = ticket.signal;
        entry.onAbort = () => {
          if (!entry.live) return;
          totals.abandoned += 1;
          remove(entry);
          forget(load);
          reject(signal.reason);
        };
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
    });
  }

  return {
    name,
    policy,
    admit(ticket) {
      // Slots free means nothing waits (every release dispatches first): admit at once.
      if (inFlight < policy.concurrency) {
        const load = loadOf(ticket.tenant);
        load.inFlight += 1;
        inFlight += 1;
        record(load, rankOf(ticket.priority), 0);
        return slotFor(load, 0);
      }
      return wait(ticket, clock.now());
    },
    shedding: () => codel.shedding,
    snapshot() {
      const byPriority = Object.fromEntries(
        priorities.map((priority, rank) => {
          const level = levels[rank] as Level;
          return [priority, { queued: level.live, waitEwmaMs: Math.round(level.waitEwmaMs * 100) / 100 }];
        }),
      ) as QueueSnapshot["priorities"];
      return {
        name,
        policy,
        inFlight,
        queued,
        shedding: codel.shedding,
        wait: summary(window),
        totals: { ...totals },
        priorities: byPriority,
        tenants: [...loads.values()].map((load) => ({
          tenant: load.id,
          inFlight: load.inFlight,
          queued: load.queued,
          waitEwmaMs: Math.round(load.waitEwmaMs * 100) / 100,
        })),
      };
    },
  };
}
