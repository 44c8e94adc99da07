import type { BreakerPolicy, Transition } from "../../shared/circuit-breaker.ts";
import { withTimeout } from "../../shared/resilience/deadline.ts";
import { onceLease, type Admission, type Lease } from "../../shared/resilience/lease.ts";
import type { Classified } from "../../shared/resilience/outcome.ts";
import type { BreakerAnswer, BreakerView, OriginBreaker, Outcomes, ProbeResult } from "../durable-objects/origin-breaker.ts";
import { errorText, log, type RequestIds } from "../log.ts";
import { count } from "../metrics/isolate.ts";
import type { Origin } from "./list.ts";

/*
 * Freshness trade-off. Every isolate keeps its own view of each origin's breaker, taken
 * from the Durable Object's answers, so that a closed breaker costs no Durable Object call
 * at all on the happy path. A closed view is used as it stands for `maxViewAgeMs`; after
 * that it is still used, and one refresh goes out in the background. So an isolate learns
 * that another one tripped the breaker up to about a second (plus a round trip) late; in
 * that time its own requests still try the origin, and each failure it sees is reported at
 * once, which also brings back the new state. A dead origin refuses connections quickly
 * and the request moves on to the next origin, so the lag costs little; an origin that
 * hangs costs a header timeout per request in that second. While the view says open, the
 * origin is skipped without asking anyone until its cool-down ends; after that (and in
 * half-open) the Durable Object decides which request may probe.
 */
const maxViewAgeMs = 1_000;
/** When half-open has no free probe slot, how long this isolate leaves the origin alone before asking again. */
const recheckMs = 250;
/** A breaker slower than this counts as unreachable: the call goes ahead as if closed. */
export const breakerTimeoutMs = 1_000;

/** The origins' breakers as one request asks them: their Durable Objects and the policy they run, given once. */
export interface BreakerContext extends RequestIds {
  /** One OriginBreaker Durable Object per origin, named by it. */
  objects: DurableObjectNamespace<OriginBreaker>;
  /** The policy every origin's breaker runs (`ORIGIN_BREAKER_*` over `originBreakerPolicy`). */
  policy: BreakerPolicy;
  waitUntil(promise: Promise<unknown>): void;
  /** Told of the state changes this request's calls caused (the edge posts openings and closings as incidents). */
  onTransitions?(origin: Origin, transitions: Transition[]): void;
}

interface LocalView {
  view: BreakerView;
  /** When this isolate took the view (local clock). */
  seenAt: number;
  /** Until when this isolate skips the origin without asking (open, or half-open without a slot). */
  skipUntil: number;
}

const views = new Map<string, LocalView>();
const refreshing = new Map<string, Promise<LocalView>>();

/**
 * Whether a request may go to `origin` now, asking its breaker only when the local view is
 * missing, open past its cool-down, or half-open. An admitted call gets a lease to settle
 * with what it came to; a half-open probe's slot is leased for `leaseMs` by the breaker.
 */
export async function admit(context: BreakerContext, origin: Origin, leaseMs: number): Promise<Admission> {
  const now = Date.now();
  const local = views.get(origin.name) ?? (await refresh(context, origin));
  if (local.view.status === "closed" && local.view.forced !== "open") {
    if (now - local.seenAt > maxViewAgeMs) context.waitUntil(refresh(context, origin));
    return { admitted: true, lease: reporting(context, origin, null) };
  }
  if (now < local.skipUntil)
    return { admitted: false, retryAfterMs: local.skipUntil - now, reason: `${origin.name}: breaker ${local.view.status}` };
  const answer = await callBreaker(context, origin, (breaker) => breaker.acquire(context.policy, leaseMs));
  if (!answer) return { admitted: true, lease: reporting(context, origin, null) };
  const updated = remember(context, origin, answer);
  if (answer.allowed) return { admitted: true, lease: reporting(context, origin, answer.lease) };
  return {
    admitted: false,
    retryAfterMs: Math.max(0, updated.skipUntil - Date.now()),
    reason: `${origin.name}: breaker ${answer.view.status}`,
  };
}

/** What an attempt's outcome tells the origin's breaker: only the origin's own faults count against it. */
function probeResultOf(result: Classified): ProbeResult {
  switch (result.outcome) {
    case "provider_fault":
      return "failure";
    case "ok":
    case "client_fault":
    case "rate_limited":
      return "success";
    case "client_gone":
    case "local":
      // Says nothing of the origin: a probe slot is given back, nothing is counted.
      return "unused";
  }
}

/**
 * The lease of one admitted call; settling it reports in the background. Successes of
 * ordinary calls are not sent (the trip rule counts failures only); a probe always
 * reports, so its slot is given back before its lease runs out.
 */
function reporting(context: BreakerContext, origin: Origin, probe: number | null): Lease {
  return onceLease((classified) => {
    const result = probeResultOf(classified);
    const outcomes: Outcomes =
      probe === null ? { failures: result === "failure" ? 1 : 0 } : { failures: 0, probe: { lease: probe, result } };
    if (probe === null && outcomes.failures === 0) return;
    context.waitUntil(
      callBreaker(context, origin, (breaker) => breaker.record(context.policy, outcomes)).then((answer) => {
        if (answer) remember(context, origin, answer);
      }),
    );
  });
}

/** Each origin's breaker as its Durable Object sees it (null where it cannot be reached), for the health endpoint. */
export async function breakerViews(context: BreakerContext, origins: Origin[]): Promise<(BreakerView | null)[]> {
  return await Promise.all(
    origins.map(async (origin) => {
      const answer = await callBreaker(context, origin, async (breaker) => ({
        view: await breaker.view(context.policy),
        transitions: [],
      }));
      if (answer) remember(context, origin, answer);
      return answer?.view ?? null;
    }),
  );
}

/** One view request per origin at a time; an unreachable breaker reads as closed. */
async function refresh(context: BreakerContext, origin: Origin): Promise<LocalView> {
  const running = refreshing.get(origin.name);
  if (running) return await running;
  const fetching = callBreaker(context, origin, async (breaker) => ({
    view: await breaker.view(context.policy),
    transitions: [],
  }))
    .then((answer) => remember(context, origin, answer ?? { view: unknownView, transitions: [] }))
    .finally(() => refreshing.delete(origin.name));
  refreshing.set(origin.name, fetching);
  return await fetching;
}

const unknownView: BreakerView = { status: "closed", retryAfterMs: 0, failures: 0, probesInFlight: 0, forced: null, lastTransition: null };

/** Takes the breaker's answer as this isolate's view; the transitions it reports are counted and logged for the request that caused them. */
function remember(context: BreakerContext, origin: Origin, answer: BreakerAnswer): LocalView {
  countTransitions(context, origin, answer.transitions);
  if (answer.transitions.length > 0) context.onTransitions?.(origin, answer.transitions);
  const now = Date.now();
  const { view } = answer;
  const skipUntil = view.status === "open" ? now + view.retryAfterMs : view.status === "half_open" ? now + recheckMs : now;
  const local = { view, seenAt: now, skipUntil };
  views.set(origin.name, local);
  return local;
}

function countTransitions(ids: RequestIds, origin: Origin, transitions: Transition[]): void {
  for (const transition of transitions) {
    count("breakwater_edge_origin_breaker_transitions_total", { origin: origin.name, from: transition.from, to: transition.to });
    log("warn", "origin breaker changed state", ids, {
      origin: origin.name,
      from: transition.from,
      to: transition.to,
      reason: transition.reason,
    });
  }
}

async function callBreaker<T>(
  context: BreakerContext,
  origin: Origin,
  run: (breaker: DurableObjectStub<OriginBreaker>) => Promise<T>,
): Promise<T | null> {
  count("breakwater_edge_durable_object_calls_total", { object: "origin_breaker" });
  try {
    return await withTimeout(
      run(context.objects.getByName(origin.name)),
      breakerTimeoutMs,
      () => new Error(`no answer within ${breakerTimeoutMs} ms`),
    );
  } catch (error) {
    count("breakwater_edge_origin_breaker_unreachable_total", { origin: origin.name });
    log("warn", "origin breaker unreachable", context, { origin: origin.name, error: errorText(error) });
    return null;
  }
}
