import type { GpuProvider } from "../../shared/contract/gpu.ts";
import type { AuditLog } from "../audit/writer.ts";
import type { Db } from "../db/index.ts";
import type { Logger } from "../logger.ts";
import type { GpuCounters } from "./counters.ts";
import type { Guard } from "./guard.ts";
import type { Marketplace } from "./marketplace.ts";

/** What the GPU service's parts (provisioning, refresh, sweep) share, built once by `createGpuService`. */
export interface GpuContext {
  db: Db;
  logger: Logger;
  guard: Guard;
  marketplaces: Marketplace[];
  byName: Map<GpuProvider, Marketplace>;
  /** Service events (orphans, give-ups) go to the audit log; unset, only to the log. */
  audit: Pick<AuditLog, "append"> | undefined;
  counters: GpuCounters;
  /** This service's region: part of every label, so the sweep never touches another region's instances. */
  region: string;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Marketplace work, once started, runs to its end even if the client leaves: it is what keeps instances accounted for. */
  detached: AbortSignal;
  /** A pending instance no marketplace was asked about this long ago lost its create (a crash). */
  stalePendingMs: number;
  /** Degraded or stopped this long, an instance is given up and destroyed; 0 never. */
  giveUpAfterMs: number;
  /** Deadline of one marketplace's whole listing in the sweep: paced pages through a large account take a while. */
  sweepTimeoutMs: number;
}
