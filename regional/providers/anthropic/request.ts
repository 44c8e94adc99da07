import type { ChatCompletionRequest, ChatMessage } from "../../../shared/contract/chat.ts";
import { GatewayError } from "../../../shared/error.ts";
import { fitToCapabilities } from "../capabilities.ts";
import type { ModelCapabilities } from "../types.ts";
import { anthropicCapabilities } from "./models.ts";
import type {
  ImageBlock,
  MessageParam,
  MessagesRequest,
  OutputConfig,
  RequestBlock,
  TextBlock,
  Tool,
  ToolChoice,
  ToolResultBlock,
  ToolUseBlock,
} from "./wire.ts";

export interface RequestOptions {
  /** Anthropic requires `max_tokens`; this is sent when the client gave none. */
  maxTokens: number;
  /** What the model accepts; by default what Anthropic documents for it. */
  capabilities?: ModelCapabilities;
  /** The model as clients name it (`provider/model`), for messages. */
  label?: string;
}

/** Anthropic's sampling temperature ends at 1 where OpenAI's ends at 2. */
const maxTemperature = 1;

/**
 * An OpenAI chat request as a Messages API body. Only fields Anthropic knows are sent (it
 * rejects unknown ones); sampling hints it has no equivalent for (penalties, seed,
 * logit_bias) are dropped, while what would change the answer (`n` > 1, a response format
 * or stop sequence it cannot honour, a prefill the model refuses) is refused naming the param.
 */
export function toMessagesRequest(given: ChatCompletionRequest, options: RequestOptions): MessagesRequest {
  const label = options.label ?? given.model;
  const capabilities = options.capabilities ?? anthropicCapabilities(given.model);
  const request = fitToCapabilities(given, capabilities, label);
  if (typeof request.n === "number" && request.n > 1) throw invalid("n", "Anthropic models return one choice; n must be 1.");
  const last = request.messages.length - 1;
  if (request.messages[last]?.role === "assistant" && !capabilities.prefill) {
    throw invalid(
      `messages[${last}]`,
      `${label} does not continue a final assistant message (prefill); end the conversation with a user or tool message.`,
    );
  }
  const system: string[] = [];
  const messages: MessageParam[] = [];
  request.messages.forEach((message, i) => {
    const param = `messages[${i}]`;
    if (message.role === "system" || message.role === "developer") system.push(plainText(message.content, param));
    else if (message.role === "user") append(messages, "user", contentBlocks(message.content, param));
    else if (message.role === "assistant")
      append(messages, "assistant", [...contentBlocks(message.content, param), ...toolUses(message, param)]);
    else if (message.role === "tool") append(messages, "user", [toolResult(message, param)]);
    else throw invalid(`${param}.role`, "The deprecated 'function' role is not supported for Anthropic models; use 'tool'.");
  });

  const tools = request.tools?.map(toTool);
  const toolChoice = toToolChoice(request.tool_choice, request.parallel_tool_calls, tools !== undefined);
  const stop = stopSequences(request.stop);
  const outputConfig = toOutputConfig(request.response_format);
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? options.maxTokens;

  return {
    model: request.model,
    max_tokens: maxTokens,
    messages: messages.map(toolResultsFirst),
    ...(system.length > 0 && { system: system.join("\n\n") }),
    ...(stop && stop.length > 0 && { stop_sequences: stop }),
    ...(typeof request.temperature === "number" && { temperature: Math.min(request.temperature, maxTemperature) }),
    ...(typeof request.top_p === "number" && { top_p: request.top_p }),
    ...(tools && { tools }),
    ...(toolChoice && { tool_choice: toolChoice }),
    ...(outputConfig && { output_config: outputConfig }),
    ...(request.user && { metadata: { user_id: request.user } }),
  };
}

/**
 * Stop sequences as given. Anthropic refuses an empty or whitespace-only one ("stop_sequences:
 * each stop sequence must contain non-whitespace"); leaving it out would let the answer run
 * past where the client asked it to stop, so it is refused here, naming it.
 */
function stopSequences(stop: ChatCompletionRequest["stop"]): string[] | undefined {
  if (stop === null || stop === undefined) return undefined;
  const list = typeof stop === "string" ? [stop] : stop;
  list.forEach((sequence, i) => {
    if (sequence.trim() === "") {
      throw invalid(
        typeof stop === "string" ? "stop" : `stop[${i}]`,
        `Anthropic models do not accept a stop sequence that is empty or only whitespace (${JSON.stringify(sequence)}).`,
      );
    }
  });
  return list;
}

/**
 * OpenAI's `response_format` as Anthropic's structured outputs: a `json_schema` becomes
 * `output_config.format`, its description going into the schema (where the model reads it);
 * `text` is Anthropic's default. Any other type is refused rather than dropped.
 */
function toOutputConfig(format: ChatCompletionRequest["response_format"]): OutputConfig | undefined {
  if (format === undefined || format.type === "text") return undefined;
  if (format.type !== "json_schema")
    throw invalid("response_format", `Anthropic models do not honour response_format '${format.type}'; use json_schema.`);
  const spec = objectOf(format.json_schema);
  const schema = objectOf(spec?.schema);
  if (!schema) throw invalid("response_format.json_schema.schema", "A json_schema response format needs its schema for Anthropic models.");
  const description = stringOf(spec?.description);
  return { format: { type: "json_schema", schema: description && schema.description === undefined ? { ...schema, description } : schema } };
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError("invalid_request", { message, param });
}

function objectOf(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Anthropic wants user and assistant turns to alternate: consecutive turns of one role merge. */
function append(messages: MessageParam[], role: MessageParam["role"], blocks: RequestBlock[]): void {
  if (blocks.length === 0) return;
  const last = messages.at(-1);
  if (last?.role === role) last.content.push(...blocks);
  else messages.push({ role, content: blocks });
}

/** In a user turn, Anthropic requires tool results before any other content. */
function toolResultsFirst(message: MessageParam): MessageParam {
  if (message.role !== "user") return message;
  const results = message.content.filter((block) => block.type === "tool_result");
  if (results.length === 0) return message;
  return { role: "user", content: [...results, ...message.content.filter((block) => block.type !== "tool_result")] };
}

function plainText(content: ChatMessage["content"], param: string): string {
  if (typeof content === "string") return content;
  return (content ?? [])
    .map((part, j) => {
      const text = part.type === "text" ? stringOf(part.text) : undefined;
      if (text === undefined) throw invalid(`${param}.content[${j}]`, "System messages may only contain text.");
      return text;
    })
    .join("");
}

/** Text and image parts as blocks; empty text is left out (Anthropic rejects empty blocks). */
function contentBlocks(content: ChatMessage["content"], param: string): Array<TextBlock | ImageBlock> {
  if (typeof content === "string") return content ? [{ type: "text", text: content }] : [];
  const blocks: Array<TextBlock | ImageBlock> = [];
  (content ?? []).forEach((part, j) => {
    const where = `${param}.content[${j}]`;
    if (part.type === "text" || part.type === "refusal") {
      const text = stringOf(part.text) ?? stringOf(part.refusal);
      if (text === undefined) throw invalid(where, "A text part needs a text.");
      if (text) blocks.push({ type: "text", text });
    } else if (part.type === "image_url") {
      blocks.push(imageBlock(stringOf(objectOf(part.image_url)?.url) ?? stringOf(part.image_url), where));
    } else {
      throw invalid(where, `Content parts of type '${part.type}' are not supported for Anthropic models.`);
    }
  });
  return blocks;
}

const dataUrl = /^data:([^;,]+);base64,(.*)$/s;

function imageBlock(url: string | undefined, param: string): ImageBlock {
  const inline = url ? dataUrl.exec(url) : null;
  if (inline?.[1] && inline[2] !== undefined) return { type: "image", source: { type: "base64", media_type: inline[1], data: inline[2] } };
  if (url && /^https?:\/\//i.test(url)) return { type: "image", source: { type: "url", url } };
  throw invalid(`${param}.image_url.url`, "An image must be a base64 data URL or an http(s) URL.");
}

function toolUses(message: ChatMessage, param: string): ToolUseBlock[] {
  return (message.tool_calls ?? []).map((call, k) => {
    const fn = objectOf(call.function);
    const name = stringOf(fn?.name);
    if (call.type !== "function" || !name)
      throw invalid(`${param}.tool_calls[${k}]`, "Only function tool calls with a name are supported.");
    const args = stringOf(fn?.arguments) ?? "";
    let input: unknown;
    try {
      input = args.trim() ? JSON.parse(args) : {};
    } catch {
      throw invalid(`${param}.tool_calls[${k}].function.arguments`, "Tool call arguments must be JSON.");
    }
    return { type: "tool_use", id: call.id, name, input };
  });
}

function toolResult(message: ChatMessage, param: string): ToolResultBlock {
  if (!message.tool_call_id) throw invalid(`${param}.tool_call_id`, "A tool message needs the tool_call_id it answers.");
  const content = typeof message.content === "string" ? message.content : contentBlocks(message.content, param);
  return { type: "tool_result", tool_use_id: message.tool_call_id, content };
}

function toTool(tool: { type: string; [field: string]: unknown }, i: number): Tool {
  const fn = objectOf(tool.function);
  const name = stringOf(fn?.name);
  if (tool.type !== "function" || !name)
    throw invalid(`tools[${i}]`, "Only function tools with a name are supported for Anthropic models.");
  const description = stringOf(fn?.description);
  return { name, ...(description && { description }), input_schema: objectOf(fn?.parameters) ?? { type: "object", properties: {} } };
}

function toToolChoice(choice: ChatCompletionRequest["tool_choice"], parallel: unknown, hasTools: boolean): ToolChoice | undefined {
  const single = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined) return hasTools && parallel === false ? { type: "auto", ...single } : undefined;
  if (choice === "none") return { type: "none" };
  if (choice === "auto") return { type: "auto", ...single };
  if (choice === "required") return { type: "any", ...single };
  const name = typeof choice === "object" && choice.type === "function" ? stringOf(objectOf(choice.function)?.name) : undefined;
  if (name) return { type: "tool", name, ...single };
  throw invalid("tool_choice", "tool_choice must be 'none', 'auto', 'required' or a named function.");
}
