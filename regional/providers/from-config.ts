import { createAnthropicProvider } from "./anthropic/index.ts";
import { nodeTransport } from "./http.ts";
import { createMockProvider } from "./mock/index.ts";
import { createOpenAiProvider } from "./openai/index.ts";
import type { AnthropicDefinition, MockDefinition, OpenAiDefinition } from "./provider-entry.ts";
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
    const resolve = (field: string, source: ValueSource): string => {
      const resolved = resolveValue(source, options.env);
      if ("value" in resolved) return resolved.value;
      problems.push(`${at}.${field}: ${resolved.problem}`);
      return "";
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
    const headers = Object.fromEntries(Object.entries(spec.headers ?? {}).map(([header, source]) => [header, resolve(`headers.${header}`, source)]));
    const connection = { name, headers, models: spec.models, transport: nodeTransport(spec.pool) };
    if (spec.type === "openai") {
      const apiKey = spec.apiKey === undefined ? undefined : resolve("apiKey", spec.apiKey);
      providers.push(httpTypes.openai.create({ ...connection, baseUrl: spec.baseUrl, ...(apiKey !== undefined && { apiKey }) }));
    } else {
      providers.push(httpTypes.anthropic.create({ ...connection, apiKey: resolve("apiKey", spec.apiKey), ...(spec.baseUrl !== undefined && { baseUrl: spec.baseUrl }) }));
    }
  }
  if (problems.length > 0) throw new Error(`Routes file${options.source ? ` ${options.source}` : ""}: ${problems.join("; ")}`);
  return providers;
}
