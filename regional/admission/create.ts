import type { Db } from "../db/index.ts";
import type { Logger } from "../logger.ts";
import type { RoutesFile } from "../routes-file.ts";
import { createDegradations } from "../routing/degradation.ts";
import type { Admission } from "./admitted.ts";
import type { QueueClock } from "./fair-queue.ts";
import { createPriorityStore } from "./priority-store.ts";
import { createAdmissionQueues } from "./queues.ts";

export interface AdmissionParts {
  routes: RoutesFile;
  /** Every model name served: routes and providers' models (`planner.models()`). */
  models: readonly string[];
  db: Db;
  logger: Logger;
  clock?: QueueClock;
  /** How often priorities set on other instances are read (default 10 s). */
  priorityRefreshMs?: number;
}

/** Queues, priorities and degradations for the app; a bad `fallback_model` stops start-up. */
export function createAdmission(parts: AdmissionParts): Admission {
  const served = new Set(parts.models);
  const known = (model: string) => served.has(model);
  return {
    queues: createAdmissionQueues(parts.routes, { known, clock: parts.clock }),
    priorities: createPriorityStore(parts.db, parts.logger, { refreshMs: parts.priorityRefreshMs }),
    degradations: createDegradations(parts.routes, known),
  };
}
