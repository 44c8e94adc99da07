import type { Config } from "../config.ts";
import { mockProvidersEnabled } from "../local-mode.ts";
import type { RoutesFile } from "../routes-file.ts";
import { buildProviders, type ProviderSpec } from "./from-config.ts";
import { kindByName } from "./provider-entry.ts";
import type { Secrets } from "../secrets/secrets.ts";
import { settingSource, type Env, type ValueSource } from "./secret-ref.ts";
import type { Provider } from "./types.ts";

const listOf = (names: string) =>
  names
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);

/** `mock` (OpenAI's wire) and `mock-anthropic` (Anthropic's, through the real translation). */
const localMocks: Record<string, ProviderSpec> = {
  mock: { type: "mock", wire: "openai" },
  "mock-anthropic": { type: "mock", wire: "anthropic" },
};

/** A shorthand's key: the value, or a Secrets Manager reference its provider reads on every call. */
function settingKey(setting: string, text: string): ValueSource {
  const source = settingSource(text);
  if ("problem" in source) throw new Error(`Invalid configuration: ${setting}: ${source.problem}`);
  return source;
}

/** `OPENAI_*` and `ANTHROPIC_*` expand into entries named `openai` and `anthropic`. */
function envShorthands(config: Config): Record<string, ProviderSpec> {
  const specs: Record<string, ProviderSpec> = {};
  if (config.OPENAI_API_KEY) {
    const models = listOf(config.OPENAI_MODELS).map((id) => ({ id, kind: kindByName(id) }));
    specs.openai = { type: "openai", baseUrl: config.OPENAI_BASE_URL, apiKey: settingKey("OPENAI_API_KEY", config.OPENAI_API_KEY), models };
  }
  if (config.ANTHROPIC_API_KEY) {
    const models = listOf(config.ANTHROPIC_MODELS).map((id) => ({ id, kind: "chat" as const }));
    specs.anthropic = {
      type: "anthropic",
      baseUrl: config.ANTHROPIC_BASE_URL,
      apiKey: settingKey("ANTHROPIC_API_KEY", config.ANTHROPIC_API_KEY),
      models,
    };
  }
  return specs;
}

/**
 * The providers this process serves: the local mocks, the env shorthands, and the routes
 * file's entries with a `type`. A file entry replaces a mock or shorthand of the same name,
 * so `"openai": { "type": "openai", "apiKey": "env:OPENAI_API_KEY", ... }` takes over from
 * `OPENAI_*` rather than clashing with it.
 */
export function configuredProviders(config: Config, routes?: RoutesFile, env: Env = process.env, secrets?: Secrets): Provider[] {
  const defined = Object.fromEntries(
    Object.entries(routes?.providers ?? {}).flatMap(([name, entry]) => (entry.type === undefined ? [] : [[name, entry]])),
  );
  const mocks = mockProvidersEnabled(config);
  return buildProviders(
    { ...(mocks ? localMocks : {}), ...envShorthands(config), ...defined },
    { env, mocks, source: config.ROUTES_FILE, ...(secrets && { secrets }) },
  );
}
