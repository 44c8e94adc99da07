import type { Logger } from "../logger.ts";
import type { GpuService } from "./service.ts";

export interface GpuPoller {
  stop(): Promise<void>;
}

/**
 * Refreshes unfinished instances from their marketplaces every `intervalMs`, so states move
 * (and lost creates are resolved) even when nobody reads them. One round at a time.
 */
export function startGpuPoller(gpu: GpuService, options: { intervalMs: number; batch: number; logger: Logger }): GpuPoller {
  let round: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (round) return;
    round = gpu
      .refreshActive(options.batch)
      .then(() => undefined)
      .catch((error: unknown) => options.logger.warn("gpu status poll failed", { error }))
      .finally(() => (round = undefined));
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await round;
    },
  };
}
