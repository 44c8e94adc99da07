import type { Logger } from "../logger.ts";
import { liveSecret, referenceText, type LiveSecret, type SecretsManagerRef } from "./live-secret.ts";
import type { SecretStore, SecretStoreStats, VersionStage } from "./store.ts";

/**
 * Every secret the service refers to, by reference. Parts of the service ask for handles
 * while they are built; `prime()` then reads them all before the first request, so a
 * missing secret stops start-up and no request ever waits on Secrets Manager.
 */
export interface Secrets {
  /** One handle per reference and stage, whoever asks; `label` says where it is configured. */
  secret(ref: SecretsManagerRef, stage?: VersionStage, label?: string): LiveSecret;
  /** Reads every handle given out so far that was never read; throws naming each one that fails. */
  prime(): Promise<void>;
  stats(): SecretStoreStats;
  /** Every reference given out, with when it was last read: names only, never a value. */
  freshness(): SecretFreshness[];
}

export interface SecretFreshness {
  /** As configured: `secretsmanager:NAME` or `secretsmanager:NAME#json-key`. */
  reference: string;
  stage: VersionStage;
  /** Where it is configured (setting names, the routes file); empty when no one said. */
  usedBy: string[];
  /** When Secrets Manager last answered for it, in ms since the epoch; null if it never did. */
  lastReadAt: number | null;
  /** The last read failed: the last good value stays in use until a read succeeds. */
  lastRefreshFailed: boolean;
}

export function createSecrets(store: SecretStore, logger: Logger): Secrets {
  const handles = new Map<string, { handle: LiveSecret; name: string; labels: Set<string>; primed: boolean }>();
  return {
    secret(ref, stage = "AWSCURRENT", label) {
      const key = `${stage} ${referenceText(ref)}`;
      let known = handles.get(key);
      if (!known) {
        known = { handle: liveSecret(store, ref, stage, logger), name: ref.name, labels: new Set(), primed: false };
        handles.set(key, known);
      }
      if (label) known.labels.add(label);
      return known.handle;
    },

    async prime() {
      const pending = [...handles.values()].filter((known) => !known.primed);
      const problems: string[] = [];
      await Promise.all(
        pending.map(async (known) => {
          const where = known.labels.size > 0 ? `${[...known.labels].join(", ")}: ` : "";
          try {
            const value = await known.handle.get();
            // Only the current version must exist; a first version has no previous one.
            if (value === undefined && known.handle.stage === "AWSCURRENT")
              throw new Error(`${known.handle.reference} has no current version`);
            known.primed = true;
          } catch (error) {
            problems.push(`${where}${error instanceof Error ? error.message : String(error)}`);
          }
        }),
      );
      if (problems.length > 0) throw new Error(`Secrets could not be read: ${problems.join("; ")}`);
    },

    stats: () => store.stats(),

    freshness: () =>
      [...handles.values()].map(({ handle, name, labels }) => {
        const read = store.secret(name, handle.stage).freshness();
        return {
          reference: handle.reference,
          stage: handle.stage,
          usedBy: [...labels],
          lastReadAt: read.lastReadAt,
          lastRefreshFailed: read.lastReadFailed,
        };
      }),
  };
}
