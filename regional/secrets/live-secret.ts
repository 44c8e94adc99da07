import type { Logger } from "../logger.ts";
import type { SecretStore, SecretVersion, VersionStage } from "./store.ts";

/** A Secrets Manager reference: the secret's name or ARN, and optionally one field of its JSON. */
export interface SecretsManagerRef {
  name: string;
  jsonKey?: string;
}

/** How a reference is written in configuration; names and keys are not secret, values are. */
export const referenceText = (ref: SecretsManagerRef): string =>
  `secretsmanager:${ref.name}${ref.jsonKey === undefined ? "" : `#${ref.jsonKey}`}`;

/** One version stage of a referenced secret, as the code that needs it sees it. */
export interface LiveSecret {
  readonly reference: string;
  readonly stage: VersionStage;
  /**
   * The value in memory, without waiting (a stale one is read again in the background);
   * undefined when the secret has no version at this stage. Throws before the first read.
   */
  current(): string | undefined;
  /** The value, read first if it never was. */
  get(): Promise<string | undefined>;
  /** Reads it again now (after the value was refused); calls close together share one read. */
  refresh(reason: string): Promise<string | undefined>;
}

/**
 * A handle on a reference: the store keeps the secret's text, the handle picks its JSON
 * field. The field is taken once per version, so a cached read costs a map lookup. A new
 * version that lacks the field leaves the last good value in use, as an outage does.
 */
export function liveSecret(store: SecretStore, ref: SecretsManagerRef, stage: VersionStage, logger: Logger): LiveSecret {
  const reference = referenceText(ref);
  const stored = store.secret(ref.name, stage);
  let taken: { from: SecretVersion; value: string } | undefined;
  let refusedVersion: SecretVersion | undefined;

  const valueOf = (version: SecretVersion | null | undefined): string | undefined => {
    if (version === undefined) throw new Error(`${reference} (${stage}) has not been read yet`);
    if (version === null) return undefined;
    if (taken?.from === version) return taken.value;
    const picked = pick(version.value, ref.jsonKey);
    if ("value" in picked) {
      taken = { from: version, value: picked.value };
      return picked.value;
    }
    if (!taken) throw new Error(`${reference} (${stage}): ${picked.problem}`);
    if (refusedVersion !== version) {
      refusedVersion = version;
      logger.warn("a new version of a secret cannot be used; the last good value stays in use", {
        reference,
        stage,
        problem: picked.problem,
      });
    }
    return taken.value;
  };

  return {
    reference,
    stage,
    current: () => valueOf(stored.peek()),
    get: async () => valueOf(await stored.get()),
    refresh: async (reason) => valueOf(await stored.refresh(reason)),
  };
}

/** The whole text, or one string field of it as JSON. Problems never quote the text: it is the secret. */
function pick(text: string, jsonKey: string | undefined): { value: string } | { problem: string } {
  if (jsonKey === undefined) return text === "" ? { problem: "is empty" } : { value: text };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: `is not JSON, so it has no key '${jsonKey}'` };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    return { problem: `is not a JSON object, so it has no key '${jsonKey}'` };
  if (!Object.hasOwn(parsed, jsonKey)) return { problem: `has no key '${jsonKey}'` };
  const value = (parsed as Record<string, unknown>)[jsonKey];
  if (typeof value === "number") return { value: String(value) };
  if (typeof value !== "string" || value === "") return { problem: `key '${jsonKey}' is not a non-empty string` };
  return { value };
}
