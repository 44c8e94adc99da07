import type { RoutesFile } from "../routes-file.ts";
import { createFairQueue, defaultQueuePolicy, realQueueClock, type FairQueue, type QueueClock, type QueueSnapshot } from "./fair-queue.ts";

/**
 * One admission queue per route — the model name a client sends: a route of the routes file,
 * or a plain `provider/model`. Per route rather than per provider because admission comes
 * before the router picks a target (a route falls back across providers); each provider's own
 * limits are the capacity checks the router makes per target.
 */
export interface AdmissionQueues {
  /** The name's queue; none for a name nothing serves (the router answers it 404), so the map stays bounded. */
  queueFor(model: string): FairQueue | undefined;
  /** Every queue that has been used (plus every route's), for `/admin/queue` and metrics. */
  snapshot(): QueueSnapshot[];
}

export interface AdmissionQueuesOptions {
  /** Whether a model name is served (a route or a provider's model). */
  known(model: string): boolean;
  clock?: QueueClock;
}

export function createAdmissionQueues(file: RoutesFile, options: AdmissionQueuesOptions): AdmissionQueues {
  const clock = options.clock ?? realQueueClock;
  const queues = new Map<string, FairQueue>();
  for (const [name, route] of Object.entries(file.routes)) {
    queues.set(name, createFairQueue(name, { ...defaultQueuePolicy, ...route.queue }, clock));
  }
  return {
    queueFor(model) {
      const queue = queues.get(model);
      if (queue || !options.known(model)) return queue;
      const provider = model.slice(0, model.indexOf("/"));
      const entry = Object.hasOwn(file.providers, provider) ? file.providers[provider] : undefined;
      const created = createFairQueue(model, { ...defaultQueuePolicy, ...entry?.queue }, clock);
      queues.set(model, created);
      return created;
    },
    snapshot: () => [...queues.values()].map((queue) => queue.snapshot()),
  };
}
