import type { Config } from "../config.ts";
import { createAnthropicProvider } from "./anthropic/index.ts";
import { createMockProvider } from "./mock/index.ts";
import { createOpenAiProvider } from "./openai/index.ts";
import type { Provider } from "./types.ts";

const listOf = (names: string) => names.split(",").map((name) => name.trim()).filter(Boolean);

/**
 * The providers this process serves: `mock` (OpenAI's wire) and `mock-anthropic`
 * (Anthropic's wire, through the real translation) always, real ones when their key is set.
 */
export function configuredProviders(config: Config): Provider[] {
  const providers: Provider[] = [createMockProvider(), createMockProvider({ name: "mock-anthropic", wire: "anthropic" })];
  if (config.OPENAI_API_KEY) {
    providers.push(
      createOpenAiProvider({
        name: "openai",
        baseUrl: config.OPENAI_BASE_URL,
        apiKey: config.OPENAI_API_KEY,
        models: listOf(config.OPENAI_MODELS).map((id) => ({ id, kind: /embed/i.test(id) ? "embeddings" : "chat" })),
      }),
    );
  }
  if (config.ANTHROPIC_API_KEY) {
    providers.push(
      createAnthropicProvider({
        name: "anthropic",
        baseUrl: config.ANTHROPIC_BASE_URL,
        apiKey: config.ANTHROPIC_API_KEY,
        models: listOf(config.ANTHROPIC_MODELS).map((id) => ({ id, kind: "chat" })),
      }),
    );
  }
  return providers;
}
