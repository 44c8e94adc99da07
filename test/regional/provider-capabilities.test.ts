import { describe, expect, it } from "vitest";
import type { ChatCompletionRequest } from "../../shared/contract/chat.ts";
import { assumedCapabilities, capabilitiesOf, capabilityResolver, fitToCapabilities } from "../../regional/providers/capabilities.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { openAiDefaults } from "../../regional/providers/openai/index.ts";
import type { ModelCapabilities, Provider } from "../../regional/providers/types.ts";

const ask = (extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
  model: "m",
  messages: [{ role: "user", content: "hi" }],
  ...extra,
});
const only = (changes: Partial<ModelCapabilities>): ModelCapabilities => ({ ...openAiDefaults, ...changes });
const fit = (extra: Partial<ChatCompletionRequest>, changes: Partial<ModelCapabilities> = {}) =>
  fitToCapabilities(ask(extra), only(changes), "p/m");
const refusal = (extra: Partial<ChatCompletionRequest>, changes: Partial<ModelCapabilities>) => {
  try {
    fit(extra, changes);
  } catch (error) {
    return error;
  }
  return undefined;
};

describe("requests fitted to what a model takes", () => {
  it("drops stream_options from a call that is not streamed, and from a stream where the backend does not take them", () => {
    expect(fit({ stream: false, stream_options: { include_usage: true } })).not.toHaveProperty("stream_options");
    expect(fit({ stream_options: { include_usage: true } })).not.toHaveProperty("stream_options");
    expect(fit({ stream: true, stream_options: { include_usage: true } })).toMatchObject({ stream_options: { include_usage: true } });
    expect(fit({ stream: true, stream_options: { include_usage: true } }, { streamOptions: false })).not.toHaveProperty("stream_options");
  });

  it("sends temperature and top_p together only where the model takes both", () => {
    expect(fit({ temperature: 0.2, top_p: 0.5 })).toMatchObject({ temperature: 0.2, top_p: 0.5 });
    expect(refusal({ temperature: 0.2, top_p: 0.5 }, { temperatureWithTopP: false })).toMatchObject({
      code: "invalid_request",
      param: "top_p",
    });
    expect(fit({ temperature: 0.2, top_p: 1 }, { temperatureWithTopP: false })).not.toHaveProperty("top_p");
    expect(fit({ temperature: 0.2, top_p: null }, { temperatureWithTopP: false })).toMatchObject({ temperature: 0.2, top_p: null });
  });

  it("refuses tools where the model takes none, and leaves out what says 'no tools' anyway", () => {
    const tools = [{ type: "function", function: { name: "f" } }];
    expect(refusal({ tools }, { tools: false })).toMatchObject({ code: "invalid_request", param: "tools" });
    expect(refusal({ tool_choice: "required" }, { tools: false })).toMatchObject({ code: "invalid_request", param: "tool_choice" });
    const fitted = fit({ tools: [], tool_choice: "none" }, { tools: false });
    expect(fitted).not.toHaveProperty("tools");
    expect(fitted).not.toHaveProperty("tool_choice");
  });

  it("refuses a response format the model does not honour, naming it, and drops text where the field is not taken", () => {
    expect(refusal({ response_format: { type: "json_object" } }, { responseFormat: ["json_schema"] })).toMatchObject({
      code: "invalid_request",
      param: "response_format",
      message: "p/m does not honour response_format 'json_object' (it takes text, json_schema).",
    });
    expect(fit({ response_format: { type: "text" } }, { responseFormat: [] })).not.toHaveProperty("response_format");
    expect(fit({ response_format: { type: "text" } })).toMatchObject({ response_format: { type: "text" } });
    expect(fit({ response_format: { type: "json_object" } })).toMatchObject({ response_format: { type: "json_object" } });
  });

  it("leaves a request the model takes as it is", () => {
    const request = ask({
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      tools: [{ type: "function" }],
      response_format: { type: "json_schema" },
    });
    expect(fitToCapabilities(request, openAiDefaults, "p/m")).toEqual(request);
  });
});

describe("capabilities resolved per model", () => {
  it("lays the provider entry over the type's defaults and the model entry over both", () => {
    const resolve = capabilityResolver(() => openAiDefaults, { streamOptions: false, prefill: true }, [
      { id: "a", kind: "chat" },
      { id: "b", kind: "chat", capabilities: { prefill: false, tools: undefined } },
    ]);
    expect(resolve("a")).toEqual({ ...openAiDefaults, streamOptions: false, prefill: true });
    expect(resolve("b")).toEqual({ ...openAiDefaults, streamOptions: false, prefill: false });
  });

  it("falls back to OpenAI's API without prefill for a provider that does not say", () => {
    const silent: Provider = { ...createMockProvider(), capabilities: undefined };
    expect(capabilitiesOf(silent, "echo")).toEqual(assumedCapabilities);
    expect(assumedCapabilities.prefill).toBe(false);
  });

  it("gives the mock on Anthropic's wire prefill, so continuation can be tried without a key", () => {
    expect(capabilitiesOf(createMockProvider({ wire: "anthropic" }), "echo").prefill).toBe(true);
    expect(capabilitiesOf(createMockProvider(), "echo")).toEqual(openAiDefaults);
  });
});
