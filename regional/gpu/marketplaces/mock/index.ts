import type { GpuProvider } from "../../../../shared/contract/gpu.ts";
import { fetchTransport } from "../../../providers/http.ts";
import { inProcessFetch } from "../../../providers/mock/in-process-fetch.ts";
import type { Marketplace } from "../../marketplace.ts";
import type { PacingOptions } from "../../pacer.ts";
import { createIonetMarketplace } from "../ionet/index.ts";
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
  /** Makes an instance report the marketplace's `status` word; undefined: back to booting and running. */
  setStatus(providerInstanceId: string, status: string | undefined): void;
  /** Calls the mock answered 429 (with `enforceLimits`). */
  tooFrequent(): number;
}

export interface MockMarketplacesOptions {
  now?: () => number;
  /** How long a new instance reports itself starting before it runs (default 2 s). */
  bootMs?: number;
  /** The mocks answer 429 to calls faster than the marketplaces' published limits. Default off. */
  enforceLimits?: boolean;
  /** The adapters' pacing; default off (the mocks are local and fast). */
  pacing?: PacingOptions;
}

export type MockMarketplaces = Record<GpuProvider, MockMarketplace>;

/**
 * Vast.ai and io.net stand-ins speaking each wire format, behind the real adapters: the
 * local default (no API keys) and what tests inject faults into.
 */
export function createMockMarketplaces(options: MockMarketplacesOptions = {}): MockMarketplaces {
  const settings = { now: options.now ?? Date.now, bootMs: options.bootMs ?? 2_000, enforceLimits: options.enforceLimits ?? false };
  const pacing = options.pacing ?? false;
  const vastFaults = createGpuFaults();
  const vast = createVastMockApp(vastFaults, settings);
  const ionetFaults = createGpuFaults();
  const ionet = createIonetMockApp(ionetFaults, settings);
  const transport = (app: typeof vast.app) => fetchTransport(inProcessFetch({ app, calls: () => 0 }));
  return {
    vastai: {
      marketplace: createVastAiMarketplace({
        baseUrl: "http://vastai.mock.invalid/api/v0",
        apiKey: "mock-key",
        transport: transport(vast.app),
        pacing,
        now: settings.now,
      }),
      faults: vastFaults,
      instances: vast.instances,
      setStatus: vast.setStatus,
      tooFrequent: vast.tooFrequent,
    },
    ionet: {
      marketplace: createIonetMarketplace({
        baseUrl: "http://ionet.mock.invalid/enterprise/v1/io-cloud/caas",
        apiKey: "mock-key",
        transport: transport(ionet.app),
        pacing,
      }),
      faults: ionetFaults,
      instances: ionet.instances,
      setStatus: ionet.setStatus,
      tooFrequent: ionet.tooFrequent,
    },
  };
}
