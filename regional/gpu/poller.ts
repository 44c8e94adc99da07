import type { Logger } from "../logger.ts";
import type { GpuService } from "./service.ts";

export interface GpuPoller {
  stop(): Promise<void>;
}

/** Runs `task` every `intervalMs`, one round at a time; stopping waits for the round under way. */
function every(name: string, intervalMs: number, logger: Logger, task: () => Promise<unknown>): GpuPoller {
  let round: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (round) return;
    round = task()
      .then(() => undefined)
      .catch((error: unknown) => logger.warn(`${name} failed`, { error }))
      .finally(() => (round = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await round;
    },
  };
}

/**
 * Refreshes unfinished instances from their marketplaces every `intervalMs`, so states move,
 * given-up instances are destroyed and lost creates resolved even when nobody reads them.
 */
export function startGpuPoller(gpu: GpuService, options: { intervalMs: number; batch: number; logger: Logger }): GpuPoller {
  return every("gpu status poll", options.intervalMs, options.logger, () => gpu.refreshActive(options.batch));
}

/** Reconciles each marketplace's labelled instances with the database every `intervalMs` (see sweep.ts). */
export function startGpuSweeper(gpu: GpuService, options: { intervalMs: number; logger: Logger }): GpuPoller {
  return every("gpu sweep", options.intervalMs, options.logger, () => gpu.sweep());
}
