import type { ChatCompletionChunk, ChatCompletionRequest } from "../../shared/contract/chat.ts";
import { charsPerToken } from "../../shared/token-estimate.ts";
import { capabilitiesOf } from "../providers/capabilities.ts";
import type { Plan, PlannedTarget } from "./plan.ts";

/**
 * What of an answer already reached the client: enough to ask another target to continue
 * it, and to make its continuation look like the same answer.
 */
export interface Delivered {
  id: string;
  created: number;
  text: string;
  /** Tool calls, a refusal or several choices cannot be continued by a text prefill. */
  continuable: boolean;
}

export function startDelivered(): Delivered {
  return { id: "", created: 0, text: "", continuable: true };
}

/** Notes one chunk that went to the client. */
export function deliver(delivered: Delivered, chunk: ChatCompletionChunk): void {
  if (!delivered.id) {
    delivered.id = chunk.id;
    delivered.created = chunk.created;
  }
  for (const choice of chunk.choices) {
    const { content, tool_calls: toolCalls, refusal } = choice.delta;
    if (choice.index !== 0 || toolCalls !== undefined || (typeof refusal === "string" && refusal !== "")) delivered.continuable = false;
    if (typeof content === "string") delivered.text += content;
  }
}

/** Whether the request itself allows continuing its answer: one choice only. */
export function continuableRequest(request: ChatCompletionRequest): boolean {
  return (request.n ?? 1) === 1;
}

/**
 * The targets that may continue: every other target of the plan not yet used for this
 * answer, in plan order, that accepts an assistant prefill. A model that does not would
 * answer the prefill as a new turn (or refuse it), which would corrupt the answer.
 */
export function continuationTargets(plan: Plan, used: ReadonlySet<PlannedTarget>): PlannedTarget[] {
  return plan.targets.filter((target) => !used.has(target) && capabilitiesOf(target.provider, target.model).prefill);
}

export interface ContinuationRequest {
  request: ChatCompletionRequest;
  /** Whitespace cut from the end of the prefill (providers refuse a prefill ending in it); the client already has it. */
  trimmed: string;
}

/**
 * The original request with what was delivered as a final assistant message. Trailing
 * whitespace is left out of the prefill (Anthropic refuses it) and remembered, so the
 * continuation's leading whitespace is not sent twice.
 */
export function continuationRequest(request: ChatCompletionRequest, delivered: Delivered): ContinuationRequest {
  const prefill = delivered.text.trimEnd();
  const continued: ChatCompletionRequest = { ...request, messages: [...request.messages, { role: "assistant", content: prefill }] };
  // What the client asked to be the longest answer covers both parts.
  const spent = Math.ceil(delivered.text.length / charsPerToken);
  if (typeof request.max_tokens === "number") continued.max_tokens = Math.max(1, request.max_tokens - spent);
  if (typeof request.max_completion_tokens === "number")
    continued.max_completion_tokens = Math.max(1, request.max_completion_tokens - spent);
  return { request: continued, trimmed: delivered.text.slice(prefill.length) };
}

/**
 * A continuation's chunk as part of the first answer: its id and creation time, no second
 * role, and no whitespace at the seam that the client already has. Undefined when nothing
 * is left to send.
 */
export function seamed(
  chunk: ChatCompletionChunk,
  delivered: Delivered,
  seam: { trimmed: string; started: boolean },
): ChatCompletionChunk | undefined {
  const choices = chunk.choices.map((choice) => {
    const { role: _, ...delta } = choice.delta;
    if (!seam.started && typeof delta.content === "string" && delta.content !== "") {
      seam.started = true;
      if (seam.trimmed !== "") delta.content = delta.content.trimStart();
    }
    return { ...choice, delta };
  });
  const useful = choices.filter(
    (choice) =>
      choice.finish_reason !== null ||
      (typeof choice.delta.content === "string" && choice.delta.content !== "") ||
      Object.keys(choice.delta).some((key) => key !== "content"),
  );
  if (useful.length === 0 && !chunk.usage) return undefined;
  return { ...chunk, id: delivered.id, created: delivered.created, choices: useful };
}
