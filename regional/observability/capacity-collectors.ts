import { Counter, Gauge, type Registry } from "prom-client";
import type { Admission } from "../admission/admitted.ts";
import type { Capacity } from "../capacity/capacity.ts";

/** Where the capacity gauges read from at scrape time: the router's capacity and the admission queues (when configured). */
export interface CapacitySources {
  router: { capacity: Pick<Capacity, "snapshot"> };
  admission?: Pick<Admission, "queues">;
}

const totals = {
  admitted: "admitted",
  waited: "waited",
  shedOverloaded: "shed_overloaded",
  shedOverShare: "shed_over_share",
  timedOut: "timed_out",
  abandoned: "abandoned",
} as const satisfies Record<keyof ReturnType<Admission["queues"]["snapshot"]>[number]["totals"], string>;

/**
 * The admission queues (depth, in flight, wait, shedding, what became of each request) and the
 * providers' capacity (calls in flight, what each said remains of its rate limits), read in
 * `collect()` when scraped. A queue is a route: bounded by the configuration and served models.
 */
export function defineCapacityCollectors(registry: Registry, sources: () => CapacitySources | undefined): void {
  const registers = [registry];
  const queues = () => sources()?.admission?.queues.snapshot() ?? [];
  const capacity = () => sources()?.router.capacity.snapshot();

  new Gauge({
    name: "breakwater_queue_in_flight",
    help: "Requests holding an admission slot of each route's queue (a stream until it ends).",
    labelNames: ["queue"],
    registers,
    collect() {
      this.reset();
      for (const queue of queues()) this.set({ queue: queue.name }, queue.inFlight);
    },
  });
  new Gauge({
    name: "breakwater_queue_waiting",
    help: "Requests waiting in each route's admission queue, by priority.",
    labelNames: ["queue", "priority"],
    registers,
    collect() {
      this.reset();
      for (const queue of queues())
        for (const [priority, level] of Object.entries(queue.priorities)) this.set({ queue: queue.name, priority }, level.queued);
    },
  });
  new Gauge({
    name: "breakwater_queue_wait_seconds",
    help: "Time admitted requests waited for a slot, over the queue's last 512 admissions (quantile 0.5 and 0.99).",
    labelNames: ["queue", "quantile"],
    registers,
    collect() {
      this.reset();
      for (const { name, wait } of queues()) {
        this.set({ queue: name, quantile: "0.5" }, wait.p50Ms / 1000);
        this.set({ queue: name, quantile: "0.99" }, wait.p99Ms / 1000);
      }
    },
  });
  new Gauge({
    name: "breakwater_queue_shedding",
    help: "1 while a route's queue sheds: its waits stayed above target for an interval.",
    labelNames: ["queue"],
    registers,
    collect() {
      this.reset();
      for (const queue of queues()) this.set({ queue: queue.name }, queue.shedding ? 1 : 0);
    },
  });
  new Counter({
    name: "breakwater_queue_requests_total",
    help: "Requests each route's queue took, by what became of them: admitted (at once or after waiting), waited, shed (overloaded, over its tenant's share), timed out, abandoned by the client.",
    labelNames: ["queue", "result"],
    registers,
    collect() {
      this.reset();
      for (const queue of queues())
        for (const [field, result] of Object.entries(totals))
          this.inc({ queue: queue.name, result }, queue.totals[field as keyof typeof totals]);
    },
  });

  new Gauge({
    name: "breakwater_provider_in_flight",
    help: "Calls in flight to each provider (a stream until it ends), against its maxConcurrent when one is set.",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const { provider, inFlight } of capacity()?.providers ?? []) this.set({ provider }, inFlight);
    },
  });
  new Gauge({
    name: "breakwater_target_in_flight",
    help: "Calls in flight to each provider/model target.",
    labelNames: ["target"],
    registers,
    collect() {
      this.reset();
      for (const { target, inFlight } of capacity()?.targets ?? []) this.set({ target }, inFlight);
    },
  });
  new Gauge({
    name: "breakwater_provider_rate_limit_remaining",
    help: "What each target's provider last said remains of a rate-limit dimension (requests, tokens...) until its reset.",
    labelNames: ["target", "dimension"],
    registers,
    collect() {
      this.reset();
      for (const { target, learned } of capacity()?.targets ?? [])
        for (const { dimension, remaining } of learned) this.set({ target, dimension }, remaining);
    },
  });
}
