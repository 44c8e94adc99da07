import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import { mockProvidersEnabled } from "../local-mode.ts";
import { createIonetMarketplace } from "./marketplaces/ionet/index.ts";
import { createMockMarketplaces } from "./marketplaces/mock/index.ts";
import { createVastAiMarketplace } from "./marketplaces/vastai/index.ts";
import type { Marketplace } from "./marketplace.ts";

/**
 * The marketplaces the configuration enables. With no GPU key at all, both are in-process
 * mocks in local mode (the local default; see `mockProvidersEnabled`) and none elsewhere,
 * so no deployment rents from a mock; once any key is set only real ones are used. Real ones are paced to their published limits,
 * waiting at most half a call's deadline for a slot.
 */
export function configuredMarketplaces(config: Config, logger: Logger): Marketplace[] {
  const pacing = { maxWaitMs: Math.floor(config.GPU_TIMEOUT_MS / 2) };
  const real: Marketplace[] = [];
  if (config.VASTAI_API_KEY) real.push(createVastAiMarketplace({ baseUrl: config.VASTAI_BASE_URL, apiKey: config.VASTAI_API_KEY, pacing }));
  if (config.IONET_API_KEY) real.push(createIonetMarketplace({ baseUrl: config.IONET_BASE_URL, apiKey: config.IONET_API_KEY, pacing }));
  if (real.length > 0) return real;
  if (!mockProvidersEnabled(config)) {
    logger.info("no GPU marketplace keys: /v1/gpu is off");
    return [];
  }
  logger.info("no GPU marketplace keys: serving /v1/gpu from the mock marketplaces");
  const mocks = createMockMarketplaces();
  return [mocks.vastai.marketplace, mocks.ionet.marketplace];
}
