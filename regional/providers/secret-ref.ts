import type { LiveSecret } from "../secrets/live-secret.ts";
import type { Secrets } from "../secrets/secrets.ts";

/**
 * Where a secret comes from, written in configuration as `env:NAME` (an environment
 * variable) or `secretsmanager:NAME` / `secretsmanager:NAME#json-key` (AWS Secrets Manager,
 * current version). Files name secrets, never hold them, so they can be reviewed and
 * committed.
 */
export type SecretRef = { from: "env"; name: string } | { from: "secretsmanager"; name: string; jsonKey?: string };

/** A value that may be written out (a header such as `OpenAI-Organization`) or be a secret. */
export type ValueSource = SecretRef | { from: "literal"; value: string };

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
// A secret's name or ARN (ARNs hold colons); an optional `#key` picks one field of a JSON secret.
const secretsManagerRef = /^([A-Za-z0-9/_+=.@:!-]{1,2048})(?:#(.+))?$/;
const schemes = ["env:", "secretsmanager:"] as const;

/** Reads a reference, or says what is wrong with it; anything else is taken for a literal secret and refused. */
export function parseSecretRef(text: string): SecretRef | { problem: string } {
  if (text.startsWith("env:")) {
    const name = text.slice("env:".length);
    return envName.test(name) ? { from: "env", name } : { problem: `'${name}' is not an environment variable name` };
  }
  if (text.startsWith("secretsmanager:")) {
    const match = secretsManagerRef.exec(text.slice("secretsmanager:".length));
    if (!match?.[1]) return { problem: "needs a secret name: secretsmanager:NAME or secretsmanager:NAME#json-key" };
    return { from: "secretsmanager", name: match[1], ...(match[2] !== undefined && { jsonKey: match[2] }) };
  }
  return { problem: "must be a reference such as env:GROQ_API_KEY, never the secret itself" };
}

/** A reference when the text starts like one, else the text as it stands. */
export function parseValueSource(text: string): ValueSource | { problem: string } {
  return schemes.some((scheme) => text.startsWith(scheme)) ? parseSecretRef(text) : { from: "literal", value: text };
}

export type Env = Record<string, string | undefined>;

/**
 * The value a source stands for, or why there is none. An environment variable is read once;
 * a Secrets Manager reference becomes a handle on the secret (read before the first request,
 * kept fresh after), so its holder reads the current value each time it needs it.
 */
export function resolveValue(
  source: ValueSource,
  env: Env,
  secrets?: Secrets,
): { value: string } | { secret: LiveSecret } | { problem: string } {
  switch (source.from) {
    case "literal":
      return { value: source.value };
    case "env": {
      const value = env[source.name];
      return value ? { value } : { problem: `environment variable ${source.name} is not set` };
    }
    case "secretsmanager":
      if (!secrets) return { problem: `secretsmanager:${source.name} cannot be read here (no Secrets Manager configured); use env:NAME` };
      return { secret: secrets.secret(source) };
  }
}

/**
 * A setting that holds a secret (OPENAI_API_KEY...): a `secretsmanager:` reference, or else
 * the value itself, as settings always were.
 */
export function settingSource(text: string): ValueSource | { problem: string } {
  return text.startsWith("secretsmanager:") ? parseSecretRef(text) : { from: "literal", value: text };
}

/** Every Secrets Manager reference in a parsed configuration (a routes file's providers), wherever it sits. */
export function secretsManagerRefsIn(
  value: unknown,
  found: Extract<SecretRef, { from: "secretsmanager" }>[] = [],
  depth = 0,
): Extract<SecretRef, { from: "secretsmanager" }>[] {
  if (value === null || typeof value !== "object" || depth > 8) return found;
  const candidate = value as { from?: unknown; name?: unknown; jsonKey?: unknown };
  if (candidate.from === "secretsmanager" && typeof candidate.name === "string") {
    found.push({
      from: "secretsmanager",
      name: candidate.name,
      ...(typeof candidate.jsonKey === "string" && { jsonKey: candidate.jsonKey }),
    });
    return found;
  }
  for (const item of Object.values(value)) secretsManagerRefsIn(item, found, depth + 1);
  return found;
}
