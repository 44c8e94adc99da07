import type { Config } from "../config.ts";
import { createMockProvider } from "./mock/index.ts";
import { createOpenAiProvider } from "./openai/index.ts";
import type { Provider } from "./types.ts";

/** The providers this process serves: `mock` always, real ones when their key is set. */
export function configuredProviders(config: Config): Provider[] {
  const providers = [createMockProvider()];
  if (config.OPENAI_API_KEY) {
    const names = config.OPENAI_MODELS.split(",").map((name) => name.trim()).filter(Boolean);
    providers.push(
      createOpenAiProvider({
        name: "openai",
        baseUrl: config.OPENAI_BASE_URL,
        apiKey: config.OPENAI_API_KEY,
        models: names.map((id) => ({ id, kind: /embed/i.test(id) ? "embeddings" : "chat" })),
      }),
    );
  }
  return providers;
}
