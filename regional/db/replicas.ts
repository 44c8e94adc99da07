import type { Tracer } from "@opentelemetry/api";
import { nodePools, type NodePool } from "./pool-stats.ts";
import type postgres from "postgres";
import type { Logger } from "../logger.ts";
import { formatLsn, type Lsn } from "./lsn.ts";
import { createProber, openPool, type PoolOptions, type Probe, type Prober } from "./node.ts";
import { createPrimaryHistory, type Lag } from "./primary-history.ts";

/** Why a replica takes no reads right now. */
export type OutOfRotation = "unchecked" | "down" | "lagging";

export interface NodeHealth {
  name: string;
  /** Null until the first check answered. */
  up: boolean | null;
  /** The primary's current WAL position, or the replica's replayed one. */
  lsn: string | null;
  checkedAt: string | null;
  error: string | null;
}

export interface ReplicaHealth extends NodeHealth {
  lagMs: number | null;
  lagBytes: number | null;
  inRotation: boolean;
  reason: OutOfRotation | null;
}

export interface ReplicaSetOptions {
  primaryUrl: string;
  replicaUrls: string[];
  primaryPool: PoolOptions;
  replicaPool: PoolOptions;
  /** Replicas further behind than this take no reads. */
  maxLagMs: number;
  checkIntervalMs: number;
  checkTimeoutMs: number;
  now: () => number;
  logger: Logger;
  /** A span per query on the pools (not the probes), as node `primary`, `replica-1`, ...; unset, none. */
  tracer?: Tracer;
}

/**
 * The primary and its replicas, and a background check of each: up or down, WAL position,
 * replica lag. Picks the node a read may use; a node whose connection drops is looked at
 * again at once instead of at the next tick.
 */
export interface ReplicaSet {
  write: postgres.Sql;
  /** Round robin over replicas in rotation that have replayed `required`; undefined when none has. */
  pick(required: Lsn | null): postgres.Sql | undefined;
  /** True when some replica takes reads. */
  inRotation(): boolean;
  /** The replica furthest along that answers and has replayed `required`, however far behind: reads while the primary is down. */
  anyUp(required: Lsn | null): postgres.Sql | undefined;
  /** True once a check found the primary unreachable (and none has found it back since). */
  primaryDown(): boolean;
  /** Runs a check of every node now. */
  check(): Promise<void>;
  health(): { primary: NodeHealth; replicas: ReplicaHealth[] };
  /** Each node's pool as its queues stand now (none when the driver cannot tell). */
  pools(): NodePool[];
  close(timeoutS: number): Promise<void>;
}

interface Node {
  name: string;
  /** `primary`, `replica-1`, ...: what spans and metrics call it. */
  label: string;
  pool: postgres.Sql;
  prober: Prober;
  up: boolean | null;
  lsn: Lsn | null;
  lag: Lag | null;
  inRotation: boolean;
  checkedAt: number | null;
  error: string | null;
  /** Probes started and the latest applied: an older answer never overwrites a newer one. */
  started: number;
  applied: number;
  probing: boolean;
}

export function createReplicaSet(options: ReplicaSetOptions): ReplicaSet {
  const { logger, now } = options;
  const history = createPrimaryHistory(Math.max(2 * options.maxLagMs, 10 * options.checkIntervalMs));
  const names = new Set<string>();
  const node = (url: string, pool: PoolOptions, role: string, tracedAs: string): Node => {
    let name = new URL(url).host || role;
    for (let n = 2; names.has(name); n++) name = `${new URL(url).host}#${n}`;
    names.add(name);
    const self: Node = {
      name,
      label: tracedAs,
      pool: openPool(url, {
        ...pool,
        onclose: () => void probeOne(self),
        ...(options.tracer && { spans: { tracer: options.tracer, node: tracedAs } }),
      }),
      // A probe may be answered by a server just going down; its own connection closing after is news.
      prober: createProber(url, {
        connectTimeoutMs: pool.connectTimeoutMs,
        timeoutMs: options.checkTimeoutMs,
        onclose: () => void (self.up && probeOne(self)),
        ...(pool.password && { password: pool.password }),
      }),
      up: null,
      lsn: null,
      lag: null,
      inRotation: false,
      checkedAt: null,
      error: null,
      started: 0,
      applied: 0,
      probing: false,
    };
    return self;
  };
  const primary = node(options.primaryUrl, options.primaryPool, "primary", "primary");
  const replicas = options.replicaUrls.map((url, index) => node(url, options.replicaPool, "replica", `replica-${index + 1}`));
  let cursor = 0;

  function apply(target: Node, probe: Probe, seq: number, at: number): void {
    if (seq <= target.applied) return;
    target.applied = seq;
    const wasUp = target.up;
    const wasInRotation = target.inRotation;
    target.checkedAt = at;
    if (probe.up) {
      target.up = true;
      target.lsn = probe.lsn;
      target.error = null;
    } else {
      target.up = false;
      target.error = probe.error;
    }
    if (target === primary) {
      if (probe.up) history.record(at, probe.lsn);
    } else {
      target.lag = probe.up ? history.lagOf(probe.lsn, now()) : null;
      target.inRotation = probe.up && target.lag !== null && target.lag.ms <= options.maxLagMs;
    }
    if (wasUp !== target.up && (wasUp !== null || !target.up)) {
      const role = target === primary ? "primary" : "replica";
      if (target.up) logger.info(`database ${role} up`, { node: target.name });
      else logger.warn(`database ${role} down`, { node: target.name, error: target.error });
    } else if (target !== primary && target.up && wasInRotation !== target.inRotation) {
      logger.info(target.inRotation ? "replica back in rotation" : "replica lagging, out of rotation", {
        node: target.name,
        lagMs: target.lag?.ms,
        maxLagMs: options.maxLagMs,
      });
    }
  }

  /** After a connection closed: maybe an idle timeout, maybe the server went away. */
  async function probeOne(target: Node): Promise<void> {
    if (closed || target.probing) return;
    target.probing = true;
    const seq = ++target.started;
    const at = now();
    try {
      apply(target, await target.prober.probe(), seq, at);
    } finally {
      target.probing = false;
    }
  }

  let closed = false;
  let rounds: Promise<void> = Promise.resolve();
  function check(): Promise<void> {
    // Serialised, so that a caller's round starts after its call and sees what came before it.
    rounds = rounds
      .catch(() => {})
      .then(async () => {
        if (closed) return;
        const seqs = [primary, ...replicas].map((target) => ++target.started);
        const at = now();
        const probes = await Promise.all([primary, ...replicas].map(async (target) => await target.prober.probe()));
        // The primary first: replica lag is measured against its newest position.
        [primary, ...replicas].forEach((target, index) => {
          const result = probes[index];
          const seq = seqs[index];
          if (result && seq !== undefined) apply(target, result, seq, at);
        });
      });
    return rounds;
  }

  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    timer = setTimeout(() => {
      check()
        .catch((error: unknown) => logger.error("database health check failed", { error }))
        .finally(() => {
          if (!closed) schedule();
        });
    }, options.checkIntervalMs);
    timer.unref();
  };
  schedule();

  const view = (target: Node): NodeHealth => ({
    name: target.name,
    up: target.up,
    lsn: target.lsn === null ? null : formatLsn(target.lsn),
    checkedAt: target.checkedAt === null ? null : new Date(target.checkedAt).toISOString(),
    error: target.error,
  });

  return {
    write: primary.pool,
    pick(required) {
      const count = replicas.length;
      for (let step = 0; step < count; step++) {
        const index = (cursor + step) % count;
        const candidate = replicas[index];
        if (candidate?.inRotation && (required === null || (candidate.lsn !== null && candidate.lsn >= required))) {
          cursor = (index + 1) % count;
          return candidate.pool;
        }
      }
      return undefined;
    },
    inRotation: () => replicas.some((replica) => replica.inRotation),
    anyUp(required) {
      let best: Node | undefined;
      for (const candidate of replicas) {
        if (!candidate.up || candidate.lsn === null || (required !== null && candidate.lsn < required)) continue;
        if (!best || (best.lsn !== null && candidate.lsn > best.lsn)) best = candidate;
      }
      return best?.pool;
    },
    primaryDown: () => primary.up === false,
    check,
    pools: () => nodePools([primary, ...replicas].map((each) => [each.label, each.pool] as const)),
    health() {
      return {
        primary: view(primary),
        replicas: replicas.map((replica) => ({
          ...view(replica),
          lagMs: replica.lag?.ms ?? null,
          lagBytes: replica.lag?.bytes ?? null,
          inRotation: replica.inRotation,
          reason: replica.inRotation ? null : replica.up === null ? "unchecked" : replica.up ? "lagging" : "down",
        })),
      };
    },
    async close(timeoutS) {
      closed = true;
      clearTimeout(timer);
      await rounds.catch(() => {});
      await Promise.all([primary, ...replicas].flatMap((target) => [target.prober.close(), target.pool.end({ timeout: timeoutS })]));
    },
  };
}
