import type { GpuProvider } from "../../../shared/contract/gpu.ts";
import type { Marketplace } from "../../gpu/marketplace.ts";
import { fetchTransport } from "../http.ts";
import { createIonetMarketplace } from "../ionet/index.ts";
import { inProcessFetch } from "../mock/in-process-fetch.ts";
import { createVastAiMarketplace } from "../vastai/index.ts";
import { createGpuFaults, type GpuFaults } from "./faults.ts";
import { createIonetMockApp } from "./ionet.ts";
import { createVastMockApp } from "./vastai.ts";

export interface MockMarketplace {
  /** The real adapter, its calls served in process by the mock. */
  marketplace: Marketplace;
  faults: GpuFaults;
  /** Live instances the mock holds (destroyed ones not counted). */
  instances(): number;
}

export interface MockMarketplacesOptions {
  now?: () => number;
  /** How long a new instance reports itself starting before it runs (default 2 s). */
  bootMs?: number;
}

export type MockMarketplaces = Record<GpuProvider, MockMarketplace>;

/**
 * Vast.ai and io.net stand-ins speaking each wire format, behind the real adapters: the
 * local default (no API keys) and what tests inject faults into.
 */
export function createMockMarketplaces(options: MockMarketplacesOptions = {}): MockMarketplaces {
  const settings = { now: options.now ?? Date.now, bootMs: options.bootMs ?? 2_000 };
  const vastFaults = createGpuFaults();
  const vast = createVastMockApp(vastFaults, settings);
  const ionetFaults = createGpuFaults();
  const ionet = createIonetMockApp(ionetFaults, settings);
  const transport = (app: typeof vast.app) => fetchTransport(inProcessFetch({ app, calls: () => 0 }));
  return {
    vastai: {
      marketplace: createVastAiMarketplace({ baseUrl: "http://vastai.mock.invalid/api/v0", apiKey: "mock-key", transport: transport(vast.app) }),
      faults: vastFaults,
      instances: vast.instances,
    },
    ionet: {
      marketplace: createIonetMarketplace({ baseUrl: "http://ionet.mock.invalid/enterprise/v1/io-cloud/caas", apiKey: "mock-key", transport: transport(ionet.app) }),
      faults: ionetFaults,
      instances: ionet.instances,
    },
  };
}
