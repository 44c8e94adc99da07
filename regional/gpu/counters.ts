/** What the GPU lifecycle did since start: for `/health` now, for Prometheus counters later. */
export interface GpuCounts {
  /** Instances found at a marketplace under this region's label with no row to own them, destroyed. */
  orphans_destroyed: number;
  /** Instances found by the sweep for a create whose answer was lost, adopted by their row. */
  orphans_adopted: number;
  /** Instances Breakwater gave up on (degraded or stopped too long, failed at the marketplace) and destroyed. */
  given_up: number;
  /** Destroys the marketplace confirmed. */
  destroys_confirmed: number;
  /** Destroy attempts that failed; each is retried on the next poll or sweep. */
  destroy_failures: number;
  sweeps: number;
  /** Marketplace listings the sweep could not get (that marketplace is skipped that round). */
  sweep_failures: number;
}

export interface GpuCounters {
  add(name: keyof GpuCounts, by?: number): void;
  snapshot(): GpuCounts;
}

export function createGpuCounters(): GpuCounters {
  const counts: GpuCounts = {
    orphans_destroyed: 0,
    orphans_adopted: 0,
    given_up: 0,
    destroys_confirmed: 0,
    destroy_failures: 0,
    sweeps: 0,
    sweep_failures: 0,
  };
  return {
    add(name, by = 1) {
      counts[name] += by;
    },
    snapshot: () => ({ ...counts }),
  };
}
