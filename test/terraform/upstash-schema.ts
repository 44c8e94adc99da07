import { readFile } from "node:fs/promises";
import type { BlockSchema, ProviderSchema } from "./provider-schema.ts";

/**
 * The Upstash provider has no CDKTF package on npm (nor any other package carrying its
 * schema in a machine-readable form), so its schema is a small file transcribed from the
 * provider's source at the pinned tag; the file says where each list came from.
 */
interface SnapshotBlock {
  /** Arguments the provider requires. */
  required: string[];
  args: string[];
  computed: string[];
}

interface Snapshot {
  source: string;
  version: string;
  origin: string;
  provider: string[];
  resources: Record<string, SnapshotBlock | null>;
  dataSources: Record<string, SnapshotBlock | null>;
}

function block(args: string[], computed: string[] = [], required: string[] = []): BlockSchema {
  return {
    args: new Map(args.map((name) => [name, required.includes(name) ? { required: true } : {}])),
    attributes: new Set(["id", ...args, ...computed]),
  };
}

export const upstashSnapshotFile = new URL("schemas/upstash-2.0.1.json", import.meta.url);

export async function upstashProviderSchema(): Promise<ProviderSchema> {
  const snapshot = JSON.parse(await readFile(upstashSnapshotFile, "utf8")) as Snapshot;
  const unrecorded = new Set<string>();
  const recorded = (entries: Record<string, SnapshotBlock | null>): Map<string, BlockSchema> => {
    const schemas = new Map<string, BlockSchema>();
    for (const [type, entry] of Object.entries(entries)) {
      if (entry) schemas.set(type, block(entry.args, entry.computed, entry.required));
      else unrecorded.add(type);
    }
    return schemas;
  };
  return {
    source: snapshot.source,
    version: snapshot.version,
    origin: `test/terraform/schemas/upstash-2.0.1.json, ${snapshot.origin}`,
    resources: recorded(snapshot.resources),
    dataSources: recorded(snapshot.dataSources),
    config: block(["alias", ...snapshot.provider]),
    unrecorded,
  };
}
