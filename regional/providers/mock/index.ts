import { createAnthropicProvider } from "../anthropic/index.ts";
import { createOpenAiProvider } from "../openai/index.ts";
import { fetchTransport, type Transport } from "../http.ts";
import type { Provider, ProviderModel } from "../types.ts";
import { inProcessFetch } from "./in-process-fetch.ts";
import { createMockUpstream } from "./server.ts";

export type MockWireName = "openai" | "anthropic";

export interface MockProviderOptions {
  /** The name clients prefix models with; `mock` by default. */
  name?: string;
  /** Which provider's wire format the mock speaks, and so which real adapter is used. */
  wire?: MockWireName;
  /** A fault spec per model (syntax in `faults.ts`), for calls without `x-mock-fault`. */
  faults?: Record<string, string>;
  now?: () => number;
}

export interface MockProvider extends Provider {
  /** How many calls reached the mock upstream for `model`, faulted ones included. */
  calls(model: string): number;
}

interface WireSetup {
  models: ProviderModel[];
  adapter(name: string, transport: Transport, now: (() => number) | undefined): Provider;
}

const wires: Record<MockWireName, WireSetup> = {
  openai: {
    models: [
      { id: "echo", kind: "chat" },
      { id: "embed", kind: "embeddings" },
      { id: "instruct", kind: "completions" },
      { id: "image", kind: "images" },
      { id: "whisper", kind: "transcription" },
      { id: "speak", kind: "speech" },
      { id: "moderate", kind: "moderation" },
    ],
    adapter: (name, transport) =>
      createOpenAiProvider({ name, baseUrl: "http://mock.invalid/openai/v1", apiKey: "mock-key", models: wires.openai.models, transport }),
  },
  anthropic: {
    models: [{ id: "echo", kind: "chat" }],
    // Echo stands for a Claude model that continues a prefill (before 4.6), whatever its id says.
    adapter: (name, transport, now) =>
      createAnthropicProvider({
        name,
        baseUrl: "http://mock.invalid/anthropic",
        apiKey: "mock-key",
        models: wires.anthropic.models,
        capabilities: { prefill: true },
        transport,
        now,
      }),
  },
};

/**
 * The local default and test provider: the real OpenAI or Anthropic adapter, its requests
 * served in process by the mock upstream, so every call goes through the real translation.
 * Each call carries its `x-mock-fault` (from `CallContext.mockFault`) to the upstream;
 * fault counters and call counts belong to this instance.
 */
export function createMockProvider(options: MockProviderOptions = {}): MockProvider {
  const name = options.name ?? "mock";
  const setup = wires[options.wire ?? "openai"];
  const upstream = createMockUpstream({ faults: options.faults, now: options.now });
  const adapter = (fault: string | undefined) => setup.adapter(name, fetchTransport(inProcessFetch(upstream, fault)), options.now);
  const { capabilities, offers } = adapter(undefined);

  return {
    name,
    models: () => setup.models,
    ...(capabilities && { capabilities }),
    chat: (request, context) => adapter(context.mockFault).chat(request, context),
    chatStream: (request, context) => adapter(context.mockFault).chatStream(request, context),
    embeddings: (request, context) => adapter(context.mockFault).embeddings(request, context),
    ...(offers && { offers }),
    forward: async (call, context) => {
      const forward = adapter(context.mockFault).forward;
      if (!forward) throw new Error(`the ${name} mock's wire forwards no endpoint`);
      return await forward(call, context);
    },
    calls: upstream.calls,
  };
}
