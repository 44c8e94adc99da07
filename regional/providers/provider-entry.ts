import { z } from "zod";
import { FaultSpecError, parseFault } from "./mock/faults.ts";
import { parseSecretRef, parseValueSource, type ValueSource } from "./secret-ref.ts";
import type { CapabilityOverrides, ModelKind, StructuredFormat } from "./types.ts";

/**
 * How a provider is written down in the routes file's `providers` section: which API it
 * speaks (`type`), where, with which credentials (by reference), models and connection
 * pool. The routes file adds the policy overrides every entry may carry.
 */

export const providerTypes = ["openai", "anthropic", "mock"] as const;
export type ProviderType = (typeof providerTypes)[number];
export const isProviderType = (value: unknown): value is ProviderType => (providerTypes as readonly unknown[]).includes(value);

/** Models are called `provider/model`, so a provider's name holds no slash. */
export const providerName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only, starting with a letter or digit");

/** Checks text with a reader that returns a value or a problem, as zod issues at this field. */
function readWith<T extends object>(read: (text: string) => T | { problem: string }) {
  return z.string().transform((text, ctx): T => {
    const result = read(text);
    if ("problem" in result) {
      ctx.addIssue({ code: "custom", message: result.problem });
      return z.NEVER;
    }
    return result;
  });
}

const secretRef = readWith(parseSecretRef);

// Set by the gateway for the protocol; an entry changing them would break every call.
const reservedHeaders = new Set(["host", "content-length", "content-type", "accept", "connection", "transfer-encoding"]);
const headerToken = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** Names are checked here, not by a key schema, so the message says what is wrong (zod says "Invalid key"). */
const headers = z.record(z.string(), readWith(parseValueSource)).transform((given, ctx) => {
  const named: Record<string, ValueSource> = {};
  for (const [name, value] of Object.entries(given)) {
    const lower = name.toLowerCase();
    if (!headerToken.test(name)) ctx.addIssue({ code: "custom", path: [name], message: "not a valid header name" });
    else if (reservedHeaders.has(lower))
      ctx.addIssue({ code: "custom", path: [name], message: "is set by the gateway and cannot be changed" });
    else if (Object.hasOwn(named, lower))
      ctx.addIssue({ code: "custom", path: [name], message: "is given twice (header names ignore case)" });
    named[lower] = value;
  }
  return named;
});

/** Passes a nested parse's issues on, at their paths below the current field. */
export function forwardIssues(
  error: z.ZodError,
  ctx: { addIssue(issue: { code: "custom"; message: string; path: PropertyKey[] }): void },
): typeof z.NEVER {
  for (const issue of error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
  return z.NEVER;
}

const contextWindow = z.number().int().positive();

/** A provider's or a model's own limits (`limits` on the entry, or on a model entry). */
export const limitsShape = z
  .strictObject({
    /** Calls this instance runs at once; at the limit a route moves on to its next target. */
    maxConcurrent: z.number().int().positive(),
  })
  .partial();
export type Limits = z.output<typeof limitsShape>;

/**
 * What a backend or model accepts (see `ModelCapabilities`); every field optional, over the
 * type's defaults. Each type lists the fields that mean something for its API, so a field
 * that cannot apply (Anthropic has no `stream_options`) is named as unknown.
 */
function capabilityShape<F extends StructuredFormat>(formats: z.ZodType<F>, streamOptions: boolean) {
  const flags = {
    temperatureWithTopP: z.boolean(),
    prefill: z.boolean(),
    tools: z.boolean(),
    responseFormat: z.array(formats).transform((list) => [...new Set(list)]),
  };
  return z.strictObject(streamOptions ? { streamOptions: z.boolean(), ...flags } : flags).partial();
}

const openAiCapabilities = capabilityShape(z.enum(["json_object", "json_schema"]), true);
const anthropicCapabilities = capabilityShape(
  z.literal("json_schema", { error: "Anthropic models honour json_schema only: json_object has no equivalent in the Messages API" }),
  false,
);

/** A model as a string, or with its kind, context window and capabilities; `kindOf` decides a string's kind. */
function modelList(kindOf: (id: string) => ModelKind, kind: z.ZodType<ModelKind>, capabilities: z.ZodType<CapabilityOverrides>) {
  const detailed = z.strictObject({
    id: z.string().min(1),
    kind: kind.optional(),
    contextWindow: contextWindow.optional(),
    capabilities: capabilities.optional(),
    limits: limitsShape.optional(),
  });
  const named = z
    .string()
    .min(1)
    .transform((id) => ({ id, kind: undefined, contextWindow: undefined, capabilities: undefined, limits: undefined }));
  // Chosen by shape, so a bad object gets that object's errors rather than a union's "Invalid input".
  const model = z.unknown().transform((input, ctx): ProviderModelEntry => {
    const result = (typeof input === "string" ? named : detailed).safeParse(input);
    if (!result.success) return forwardIssues(result.error, ctx);
    const { id, kind: given, contextWindow: window, capabilities: own, limits } = result.data;
    return {
      id,
      kind: given ?? kindOf(id),
      ...(window !== undefined && { contextWindow: window }),
      ...(own !== undefined && { capabilities: own }),
      ...(limits !== undefined && { limits }),
    };
  });
  return z
    .array(model)
    .min(1)
    .superRefine((models, ctx) => {
      const seen = new Set<string>();
      models.forEach((entry, index) => {
        if (seen.has(entry.id)) ctx.addIssue({ code: "custom", message: `'${entry.id}' is listed twice`, path: [index] });
        seen.add(entry.id);
      });
    });
}

export interface ProviderModelEntry {
  id: string;
  kind: ModelKind;
  /** Tokens the model accepts; route targets naming it take this unless they set their own. */
  contextWindow?: number;
  /** Over the provider entry's `capabilities`. */
  capabilities?: CapabilityOverrides;
  /** The model's own limits, within its provider's. */
  limits?: Limits;
}

const namedKinds: Array<[RegExp, ModelKind]> = [
  [/embed/i, "embeddings"],
  [/whisper|transcribe/i, "transcription"],
  [/tts/i, "speech"],
  [/dall-e|gpt-image/i, "images"],
  [/moderation/i, "moderation"],
  [/instruct|davinci|babbage/i, "completions"],
];

/** As with the `OPENAI_MODELS` shorthand: a model's kind by OpenAI's naming (`text-embedding-*`, `whisper-1`, `tts-1` ...), else chat. */
export const kindByName = (id: string): ModelKind => namedKinds.find(([pattern]) => pattern.test(id))?.[1] ?? "chat";

const positiveInt = z.number().int().positive();
export const poolShape = z
  .strictObject({
    maxSockets: positiveInt,
    keepAlive: z.boolean(),
    keepAliveMs: positiveInt,
    maxFreeSockets: z.number().int().nonnegative(),
    queueTimeoutMs: positiveInt,
  })
  .partial();

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

const faultSpec = z.string().superRefine((spec, ctx) => {
  try {
    parseFault(spec);
  } catch (error) {
    if (!(error instanceof FaultSpecError)) throw error;
    ctx.addIssue({ code: "custom", message: error.message });
  }
});

/** The fields of each type, beside `type` itself; policy overrides come from the routes file. */
export const providerDefinitions = {
  openai: {
    type: z.literal("openai"),
    /** Any OpenAI-compatible API, so there is no default: a key must never go to the wrong vendor. */
    baseUrl: httpUrl,
    /** Optional: a local server (vLLM, Ollama) may take none. */
    apiKey: secretRef.optional(),
    headers: headers.optional(),
    models: modelList(
      kindByName,
      z.enum(["chat", "embeddings", "completions", "images", "transcription", "speech", "moderation"]),
      openAiCapabilities,
    ),
    /** For every model of the entry; defaults in `openai/index.ts`. */
    capabilities: openAiCapabilities.optional(),
    pool: poolShape.optional(),
  },
  anthropic: {
    type: z.literal("anthropic"),
    baseUrl: httpUrl.optional(),
    apiKey: secretRef,
    headers: headers.optional(),
    models: modelList(
      () => "chat",
      z.literal("chat", { error: "Anthropic offers chat models only (no embeddings, completions, images, audio or moderations)" }),
      anthropicCapabilities,
    ),
    /** For every model of the entry; defaults per model in `anthropic/models.ts`. */
    capabilities: anthropicCapabilities.optional(),
    pool: poolShape.optional(),
  },
  mock: {
    type: z.literal("mock"),
    /** Which provider's wire format the mock speaks, through that provider's real adapter. */
    wire: z.enum(["openai", "anthropic"]).default("openai"),
    /** A fault spec per model (see `mock/faults.ts`), for calls without `x-mock-fault`. */
    faults: z.record(z.string().min(1), faultSpec).optional(),
  },
} as const;

/** Keys that only make sense with a `type`: an entry without one carries policy overrides only. */
export const definitionKeys: readonly string[] = [
  ...new Set(Object.values(providerDefinitions).flatMap((fields) => Object.keys(fields))),
].filter((key) => key !== "type");

const definitionSchemas = {
  openai: z.object(providerDefinitions.openai),
  anthropic: z.object(providerDefinitions.anthropic),
  mock: z.object(providerDefinitions.mock),
};

export type OpenAiDefinition = z.output<typeof definitionSchemas.openai>;
export type AnthropicDefinition = z.output<typeof definitionSchemas.anthropic>;
export type MockDefinition = z.output<typeof definitionSchemas.mock>;
