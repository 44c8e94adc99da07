import { pathToFileURL } from "node:url";
import { createFairQueue, type QueuePolicy } from "../regional/admission/fair-queue.ts";
import { GatewayError } from "../shared/error.ts";
import { percentile } from "./stats.ts";

export interface OverloadOptions {
  /** Requests a route serves at once. */
  concurrency: number;
  /** How long each admitted request holds its slot (the provider's latency). */
  serviceMs: number;
  /** Offered load as a multiple of capacity (concurrency ÷ service time). */
  overload: number;
  durationMs: number;
  /** Tenants sending: the first floods at `floodShare` of all arrivals, the rest share what is left. */
  tenants: number;
  floodShare: number;
  policy: Partial<QueuePolicy>;
}

export interface OverloadFigures {
  capacityPerS: number;
  offeredPerS: number;
  goodputPerS: number;
  /** Goodput as a share of capacity: the aim is ≥ 90 % under 2× overload. */
  goodputRatio: number;
  /** Of the requests admitted: wait for a slot plus service, in ms. */
  acceptedP50Ms: number;
  acceptedP99Ms: number;
  /** The queue's bound on waiting (its `maxWaitMs`): no accepted request may wait longer. */
  waitBoundMs: number;
  longestWaitMs: number;
  shed: { overloaded: number; overShare: number; timedOut: number };
  /** Of the quiet tenants' requests, the share admitted: a flooding tenant must not starve them. */
  quietAdmitted: number;
}

export const defaultOverload: OverloadOptions = {
  concurrency: 32,
  serviceMs: 20,
  overload: 2,
  durationMs: 5_000,
  tenants: 5,
  floodShare: 0.8,
  policy: { maxQueued: 256, maxWaitMs: 1_000, targetMs: 20, intervalMs: 100 },
};

/**
 * A route's admission queue under overload, with real time: arrivals at `overload` × capacity
 * (one tenant flooding), each admitted request holding its slot for `serviceMs` as a provider
 * call would. What the issue's aim reads: goodput against capacity, the accepted requests' p99
 * against the queue's bound, and whether the quiet tenants still get through.
 */
export async function overloadFigures(options: OverloadOptions = defaultOverload): Promise<OverloadFigures> {
  const policy: QueuePolicy = {
    concurrency: options.concurrency,
    maxQueued: 256,
    maxWaitMs: 1_000,
    targetMs: 20,
    intervalMs: 100,
    ...options.policy,
  };
  const queue = createFairQueue("bench", policy);
  const capacityPerS = (options.concurrency * 1000) / options.serviceMs;
  const offeredPerS = capacityPerS * options.overload;
  const accepted: number[] = [];
  const waits: number[] = [];
  const shed = { overloaded: 0, overShare: 0, timedOut: 0 };
  let quietSent = 0;
  let quietAdmitted = 0;
  let served = 0;
  const pending: Array<Promise<void>> = [];

  const request = async (tenant: string): Promise<void> => {
    const started = performance.now();
    try {
      const slot = await queue.admit({ tenant, priority: "normal" });
      if (tenant !== "flood") quietAdmitted += 1;
      waits.push(slot.waitedMs);
      await new Promise((resolve) => setTimeout(resolve, options.serviceMs));
      slot.release();
      served += 1;
      accepted.push(performance.now() - started);
    } catch (error) {
      const code = error instanceof GatewayError ? error.code : "other";
      if (code === "tenant_over_share") shed.overShare += 1;
      else if (code === "overloaded" && performance.now() - started >= policy.maxWaitMs) shed.timedOut += 1;
      else shed.overloaded += 1;
    }
  };

  // Arrivals in 1 ms ticks, spread by tenant: the flooder takes `floodShare`, the quiet ones the rest.
  const perMs = offeredPerS / 1000;
  const begin = performance.now();
  let sent = 0;
  while (performance.now() - begin < options.durationMs) {
    const due = Math.floor((performance.now() - begin) * perMs);
    for (; sent < due; sent++) {
      const quiet = (sent % 100) / 100 >= options.floodShare;
      const tenant = quiet ? `quiet-${sent % (options.tenants - 1)}` : "flood";
      if (quiet) quietSent += 1;
      pending.push(request(tenant));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const elapsedS = (performance.now() - begin) / 1000;
  const servedInWindow = served;
  await Promise.all(pending);
  accepted.sort((a, b) => a - b);
  waits.sort((a, b) => a - b);
  const goodputPerS = servedInWindow / elapsedS;
  return {
    capacityPerS,
    offeredPerS,
    goodputPerS,
    goodputRatio: goodputPerS / capacityPerS,
    acceptedP50Ms: percentile(accepted, 0.5),
    acceptedP99Ms: percentile(accepted, 0.99),
    waitBoundMs: policy.maxWaitMs,
    longestWaitMs: waits.at(-1) ?? 0,
    shed,
    quietAdmitted: quietSent === 0 ? 1 : quietAdmitted / quietSent,
  };
}

export function formatOverload(figures: OverloadFigures): string {
  const pct = (share: number) => `${(share * 100).toFixed(1)} %`;
  return [
    `admission under ${(figures.offeredPerS / figures.capacityPerS).toFixed(1)}× overload (one tenant sending 80 %)`,
    `  capacity ${figures.capacityPerS.toFixed(0)} req/s, offered ${figures.offeredPerS.toFixed(0)} req/s`,
    `  goodput ${figures.goodputPerS.toFixed(0)} req/s = ${pct(figures.goodputRatio)} of capacity (aim ≥ 90 %)`,
    `  accepted p50 ${figures.acceptedP50Ms.toFixed(1)} ms, p99 ${figures.acceptedP99Ms.toFixed(1)} ms; longest wait ${figures.longestWaitMs.toFixed(1)} ms (bound ${figures.waitBoundMs} ms)`,
    `  shed: ${figures.shed.overloaded} overloaded, ${figures.shed.overShare} over share, ${figures.shed.timedOut} timed out; quiet tenants admitted ${pct(figures.quietAdmitted)}`,
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) console.log(formatOverload(await overloadFigures()));
