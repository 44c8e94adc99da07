import { z } from "zod";

/**
 * One step of a provider/model's fault script: how the next matching request is answered.
 *
 * The outcome is one of `ok` (the default), `status`, `reset` or `hang`; the timing and
 * stream fields shape it. Stream fields (`intervalMs`, `cutAfter`, `stallAfter`,
 * `malformedAfter`, `holdStream`) apply to streamed chat calls only, as the in-process mock's
 * faults do; a plain call under such a rule is answered whole.
 */
export interface FaultRule {
  /** This rule answers the next `times` matching requests, then the next rule applies; absent, every request. */
  times?: number;
  /** A healthy answer: the same as an empty rule, spelled out so scripts read well. */
  ok?: true;
  /** Answer this status (400–599) with OpenAI's error shape. */
  status?: number;
  /** `Retry-After` seconds sent with `status`. */
  retryAfter?: number;
  /** Override the error body's fields (OpenAI puts e.g. `context_length_exceeded` in `code`). */
  message?: string;
  type?: string;
  code?: string;
  /** Destroy the socket (TCP reset) without an answer. */
  reset?: true;
  /** Read the request, then send nothing until the client goes away. */
  hang?: true;
  /** Wait this long before the response headers (any outcome). */
  latencyMs?: number;
  /** Headers at once, the first content (or a plain answer's body) this much later. */
  firstTokenDelayMs?: number;
  /** How many content pieces the answer has (fewer are the echo cut short, more are padded). */
  tokens?: number;
  /** Gap between stream content chunks. */
  intervalMs?: number;
  /** Send this many content chunks (at most all of them), then destroy the socket. */
  cutAfter?: number;
  /** Send this many content chunks (at most all of them), then nothing until the client leaves. */
  stallAfter?: number;
  /** After this many content chunks (at most all of them), one `data:` event that is not JSON; the stream goes on. */
  malformedAfter?: number;
  /** Keep streaming chunks every `intervalMs` (default 100) until the client disconnects. */
  holdStream?: true;
  /**
   * The whole answer, the same from every provider (one piece per word), instead of the
   * echo that names who gave it: so a continuation on another provider can be checked
   * against it. A request ending in an assistant message (a prefill) is answered with the
   * rest of this text after that prefix.
   */
  text?: string;
  /** Refuse a request that ends in an assistant message with 400, as models without prefill do. */
  rejectPrefill?: true;
}

const count = z.number().int().nonnegative();

const ruleSchema = z
  .strictObject({
    times: z.number().int().positive().optional(),
    ok: z.literal(true).optional(),
    status: z.number().int().min(400).max(599).optional(),
    retryAfter: count.optional(),
    message: z.string().optional(),
    type: z.string().optional(),
    code: z.string().optional(),
    reset: z.literal(true).optional(),
    hang: z.literal(true).optional(),
    latencyMs: count.optional(),
    firstTokenDelayMs: count.optional(),
    tokens: z.number().int().positive().optional(),
    intervalMs: count.optional(),
    cutAfter: count.optional(),
    stallAfter: count.optional(),
    malformedAfter: count.optional(),
    holdStream: z.literal(true).optional(),
    text: z.string().min(1).optional(),
    rejectPrefill: z.literal(true).optional(),
  })
  .superRefine((rule, context) => {
    // A combination that would silently ignore a field is a typo in a test, not a healthy upstream.
    const problem = conflictIn(rule);
    if (problem) context.addIssue({ code: "custom", message: problem });
  });

const outcomes = ["ok", "status", "reset", "hang"] as const;
const streamEndings = ["cutAfter", "stallAfter", "holdStream"] as const;
const errorFields = ["retryAfter", "message", "type", "code"] as const;
const answerFields = [
  "firstTokenDelayMs",
  "tokens",
  "intervalMs",
  "cutAfter",
  "stallAfter",
  "malformedAfter",
  "holdStream",
  "text",
] as const;

function conflictIn(rule: FaultRule): string | undefined {
  const chosen = outcomes.filter((field) => rule[field] !== undefined);
  if (chosen.length > 1) return `one outcome per rule, got ${chosen.join(" + ")}`;
  const endings = streamEndings.filter((field) => rule[field] !== undefined);
  if (endings.length > 1) return `one stream ending per rule, got ${endings.join(" + ")}`;
  if (rule.status === undefined) {
    const stray = errorFields.filter((field) => rule[field] !== undefined);
    if (stray.length > 0) return `${stray.join(", ")} need status`;
  }
  if (rule.status !== undefined || rule.reset || rule.hang) {
    const stray = answerFields.filter((field) => rule[field] !== undefined);
    if (stray.length > 0) return `${stray.join(", ")} shape an answer, which ${chosen[0]} does not send`;
  }
  return undefined;
}

const scriptSchema = z.array(ruleSchema).superRefine((rules, context) => {
  const endless = rules.findIndex((rule) => rule.times === undefined);
  if (endless >= 0 && endless < rules.length - 1) {
    context.addIssue({
      code: "custom",
      path: [endless + 1],
      message: `rule ${endless} has no times, so the rules after it would never apply`,
    });
  }
});

export class RuleError extends Error {
  override name = "RuleError";
}

/** Validates a script from the control port; throws `RuleError` naming the rule at fault. */
export function parseScript(json: unknown): FaultRule[] {
  const result = scriptSchema.safeParse(json);
  if (result.success) return result.data;
  throw new RuleError(
    result.error.issues.map((issue) => `rules${issue.path.map((part) => `[${String(part)}]`).join("")}: ${issue.message}`).join("; "),
  );
}
