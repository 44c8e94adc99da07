import { parseSecretRef, type Env } from "../providers/secret-ref.ts";
import type { SecretsManagerRef } from "./live-secret.ts";
import type { Secrets } from "./secrets.ts";

/**
 * Settings that hold secrets, and so may be written as `secretsmanager:NAME` or
 * `secretsmanager:NAME#json-key` instead of the value (DESIGN.md: secret references).
 */
export const secretSettings = [
  "DATABASE_URL",
  "DATABASE_REPLICA_URLS",
  "DATABASE_PASSWORD",
  "REDIS_URL",
  "ADMIN_API_KEY",
  "AUDIT_CHECKPOINT_SECRET",
  "EDGE_SIGNING_SECRET",
  "UPSTASH_REDIS_REST_TOKEN",
  "OPENAI_API_KEY",
  "ANTHROPIC_API_KEY",
  "VASTAI_API_KEY",
  "IONET_API_KEY",
] as const;
export type SecretSetting = (typeof secretSettings)[number];

/** Keys the providers read on every call through the reference itself (configured.ts), so they stay references. */
const readByProviders: ReadonlySet<SecretSetting> = new Set(["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]);

export interface ResolvedSettings {
  /** The environment with each reference replaced by the secret's current value, for the configuration to check. */
  env: Env;
  /** Which settings were references: those that rotate (EDGE_SIGNING_SECRET, DATABASE_PASSWORD) keep being read. */
  references: Partial<Record<SecretSetting, SecretsManagerRef>>;
}

/**
 * Reads every setting given as a reference, before the configuration is checked. A
 * reference that is malformed or cannot be read stops start-up, naming the setting (never
 * the value).
 */
export async function resolveSecretSettings(env: Env, secrets: Secrets): Promise<ResolvedSettings> {
  const problems: string[] = [];
  const references: ResolvedSettings["references"] = {};
  for (const name of secretSettings) {
    const text = env[name];
    if (!text?.startsWith("secretsmanager:")) continue;
    const parsed = parseSecretRef(text);
    if ("problem" in parsed) problems.push(`${name}: ${parsed.problem}`);
    else if (parsed.from === "secretsmanager")
      references[name] = { name: parsed.name, ...(parsed.jsonKey !== undefined && { jsonKey: parsed.jsonKey }) };
  }
  if (problems.length > 0) throw new Error(`Invalid configuration: ${problems.join("; ")}`);

  const handles = Object.entries(references).map(
    ([name, ref]) => [name as SecretSetting, secrets.secret(ref, "AWSCURRENT", name)] as const,
  );
  await secrets.prime();
  const resolved: Env = { ...env };
  for (const [name, handle] of handles) if (!readByProviders.has(name)) resolved[name] = handle.current();
  return { env: resolved, references };
}
