import type { CallContext } from "../../../providers/types.ts";
import { gpuModelMatches } from "../../gpu-model.ts";

export interface GpuNameCatalog {
  /** The exact names to send as `gpu_name: {in: [...]}` for a loosely named model; empty when Vast.ai has none. */
  matching(wanted: string, context: CallContext): Promise<string[]>;
}

/**
 * Vast.ai filters `gpu_name` by exact name only, so `H100` must become `H100 SXM`, `H100 PCIE`,
 * `H100 NVL`. The names come from `GET /api/v0/gpu_names/unique/`, kept for a day as vast-cli
 * does (cli/util.py `_get_gpu_names`); concurrent searches share one load.
 */
export function createGpuNameCatalog(
  load: (context: CallContext) => Promise<string[]>,
  options: { ttlMs: number; now: () => number },
): GpuNameCatalog {
  let cached: { names: string[]; at: number } | undefined;
  let loading: Promise<string[]> | undefined;

  async function names(context: CallContext): Promise<string[]> {
    if (cached && options.now() - cached.at < options.ttlMs) return cached.names;
    loading ??= load(context)
      .then((loaded) => {
        cached = { names: loaded, at: options.now() };
        return loaded;
      })
      .finally(() => (loading = undefined));
    return await loading;
  }

  return {
    async matching(wanted, context) {
      const found = new Set<string>();
      for (const name of await names(context)) {
        if (!gpuModelMatches(name, wanted)) continue;
        // vast-cli reads `_` and `-` in a name as spaces before filtering (query.py); send both spellings.
        found.add(name);
        found.add(name.replace(/[_-]/g, " "));
      }
      return [...found];
    },
  };
}
