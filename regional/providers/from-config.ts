import { createAnthropicProvider } from "./anthropic/index.ts";
import { nodeTransport } from "./http.ts";
import { createMockProvider } from "./mock/index.ts";
import { createOpenAiProvider } from "./openai/index.ts";
import type { AnthropicDefinition, MockDefinition, OpenAiDefinition } from "./provider-entry.ts";
import type { LiveSecret } from "../secrets/live-secret.ts";
import { refreshKeyOnRefusal } from "../secrets/provider-key.ts";
import type { Secrets } from "../secrets/secrets.ts";
import { resolveValue, type Env, type ValueSource } from "./secret-ref.ts";
import type { Provider } from "./types.ts";

/**
 * A provider to build: an entry of the routes file, or one an env shorthand expanded into
 * (whose key, read from the environment already, may stand as a literal).
 */
export type ProviderSpec =
  | (Omit<OpenAiDefinition, "apiKey"> & { apiKey?: ValueSource })
  | (Omit<AnthropicDefinition, "apiKey"> & { apiKey: ValueSource })
  | MockDefinition;

export interface BuildOptions {
  env: Env;
  /** Local mode: mock providers may exist. */
  mocks: boolean;
  /** The routes file's path, for the error message. */
  source?: string;
  /** Where `secretsmanager:` references are read; without it they are refused. Read (primed) before this is called. */
  secrets?: Secrets;
}

/** What differs between the HTTP providers: the header the key goes in, and the adapter. */
const httpTypes = {
  openai: { authHeader: "authorization", create: createOpenAiProvider },
  anthropic: { authHeader: "x-api-key", create: createAnthropicProvider },
} as const;

/**
 * Builds every provider, each with its own connection pool. All problems (a variable not
 * set, a mock outside local mode, a header the key already sets) are reported together,
 * each at its field's path, and stop start-up.
 */
export function buildProviders(specs: Record<string, ProviderSpec>, options: BuildOptions): Provider[] {
  const problems: string[] = [];
  const providers: Provider[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const at = `providers.${name}`;
    const resolveLive = (field: string, source: ValueSource): string | LiveSecret => {
      const resolved = resolveValue(source, options.env, options.secrets);
      if ("value" in resolved) return resolved.value;
      if ("secret" in resolved) return resolved.secret;
      problems.push(`${at}.${field}: ${resolved.problem}`);
      return "";
    };
    // Headers are sent as they were at start; only the key is read again on every call.
    const resolve = (field: string, source: ValueSource): string => {
      const resolved = resolveLive(field, source);
      if (typeof resolved === "string") return resolved;
      try {
        return resolved.current() ?? "";
      } catch (error) {
        problems.push(`${at}.${field}: ${error instanceof Error ? error.message : String(error)}`);
        return "";
      }
    };
    /** The key as the adapter reads it on each call: fixed, or the secret's current value. */
    const keyOf = (source: ValueSource): { apiKey: string | (() => string); secret?: LiveSecret } => {
      const resolved = resolveLive("apiKey", source);
      return typeof resolved === "string" ? { apiKey: resolved } : { apiKey: () => resolved.current() ?? "", secret: resolved };
    };

    if (spec.type === "mock") {
      if (options.mocks) providers.push(createMockProvider({ name, wire: spec.wire, faults: spec.faults }));
      else problems.push(`${at}.type: mock providers exist only in local mode (no DATABASE_URL, or MOCK_PROVIDERS=on)`);
      continue;
    }

    const { authHeader } = httpTypes[spec.type];
    if (spec.apiKey !== undefined && spec.headers && Object.hasOwn(spec.headers, authHeader)) {
      problems.push(`${at}.headers.${authHeader}: apiKey already sets this header; give one of them`);
    }
    const headers = Object.fromEntries(
      Object.entries(spec.headers ?? {}).map(([header, source]) => [header, resolve(`headers.${header}`, source)]),
    );
    const connection = {
      name,
      headers,
      models: spec.models,
      transport: nodeTransport(spec.pool),
      ...(spec.capabilities !== undefined && { capabilities: spec.capabilities }),
    };
    const key = spec.apiKey === undefined ? undefined : keyOf(spec.apiKey);
    const provider =
      spec.type === "openai"
        ? httpTypes.openai.create({ ...connection, baseUrl: spec.baseUrl, ...(key !== undefined && { apiKey: key.apiKey }) })
        : httpTypes.anthropic.create({
            ...connection,
            apiKey: key?.apiKey ?? "",
            ...(spec.baseUrl !== undefined && { baseUrl: spec.baseUrl }),
          });
    // A key from Secrets Manager that the provider refuses may have been rotated: read it again.
    providers.push(key?.secret ? refreshKeyOnRefusal(provider, key.secret) : provider);
  }
  if (problems.length > 0) throw new Error(`Routes file${options.source ? ` ${options.source}` : ""}: ${problems.join("; ")}`);
  return providers;
}
