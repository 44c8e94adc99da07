/**
 * Faults the mock upstream injects, from the `x-mock-fault` header or a per-model setting.
 *
 * A spec is a list of `key` or `key=value` items separated by `;` (or `,`), for example
 * `status=429;retry-after=2`, `latency=150;break-after=2` or `status=503;times=1`:
 *
 * | item                   | effect                                                                    |
 * | ---------------------- | ------------------------------------------------------------------------- |
 * | `status=CODE`          | answer CODE (400–599) with an error body in the wire format's shape       |
 * | `retry-after=S`        | send `Retry-After: S` with the status (alone, it implies `status=429`)    |
 * | `latency=MS`           | wait MS before answering (before the response headers)                    |
 * | `reset`                | drop the connection without an answer (fetch failed, ECONNRESET)          |
 * | `first-token-delay=MS` | headers at once, the first stream event MS later (a plain answer too)     |
 * | `stall-after=N`        | a stream sends N pieces of content, then nothing until the caller leaves  |
 * | `break-after=N`        | a stream sends N pieces of content, then the connection breaks            |
 * | `malformed-chunk`      | a stream sends an event that is not JSON after its first piece of content |
 * | `no-done`              | a stream ends without its terminator (`[DONE]`, `message_stop`)           |
 * | `context-length`       | 400: the prompt exceeds the context window, in the provider's words       |
 * | `content-policy`       | 400: the provider's content policy refused the request                    |
 * | `times=N`              | only the first N calls with this spec (per model) get the fault           |
 *
 * Stream faults apply to streamed calls only (chat, responses and completions streams, and
 * speech's audio bytes); the rest to any call. `none` or an empty
 * spec is no fault. An unknown item or a bad value is an error, so a typo never passes as
 * a healthy upstream.
 */
export interface Fault {
  status?: number;
  retryAfterS?: number;
  latencyMs: number;
  reset: boolean;
  firstTokenDelayMs: number;
  stallAfter?: number;
  breakAfter?: number;
  malformedChunk: boolean;
  noDone: boolean;
  contextLength: boolean;
  contentPolicy: boolean;
  times?: number;
}

export const noFault: Fault = {
  latencyMs: 0,
  reset: false,
  firstTokenDelayMs: 0,
  malformedChunk: false,
  noDone: false,
  contextLength: false,
  contentPolicy: false,
};

export class FaultSpecError extends Error {
  override name = "FaultSpecError";
}

function integer(key: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const number = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || number < min || number > max) {
    throw new FaultSpecError(
      `mock fault '${key}' needs a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ""}, got '${value ?? ""}'`,
    );
  }
  return number;
}

function flag(set: Partial<Fault>): (key: string, value: string | undefined) => Partial<Fault> {
  return (key, value) => {
    if (value !== undefined) throw new FaultSpecError(`mock fault '${key}' takes no value`);
    return set;
  };
}

const items: Record<string, (key: string, value: string | undefined) => Partial<Fault>> = {
  status: (key, value) => ({ status: integer(key, value, 400, 599) }),
  "retry-after": (key, value) => ({ retryAfterS: integer(key, value, 0) }),
  latency: (key, value) => ({ latencyMs: integer(key, value, 0) }),
  reset: flag({ reset: true }),
  "first-token-delay": (key, value) => ({ firstTokenDelayMs: integer(key, value, 0) }),
  "stall-after": (key, value) => ({ stallAfter: integer(key, value, 0) }),
  "break-after": (key, value) => ({ breakAfter: integer(key, value, 0) }),
  "malformed-chunk": flag({ malformedChunk: true }),
  "no-done": flag({ noDone: true }),
  "context-length": flag({ contextLength: true }),
  "content-policy": flag({ contentPolicy: true }),
  times: (key, value) => ({ times: integer(key, value, 1) }),
};

/** Reads a spec; throws `FaultSpecError` naming the item at fault. */
export function parseFault(spec: string): Fault {
  const fault = { ...noFault };
  for (const item of spec.split(/[;,]/).map((part) => part.trim())) {
    if (item === "" || item === "none") continue;
    const equals = item.indexOf("=");
    const key = (equals < 0 ? item : item.slice(0, equals)).trim().toLowerCase();
    const value = equals < 0 ? undefined : item.slice(equals + 1).trim();
    const rule = Object.hasOwn(items, key) ? items[key] : undefined;
    if (!rule) throw new FaultSpecError(`unknown mock fault '${key}' (known: ${Object.keys(items).join(", ")})`);
    Object.assign(fault, rule(key, value));
  }
  if (fault.retryAfterS !== undefined && fault.status === undefined) fault.status = 429;
  return fault;
}

/** Specs a counter remembers; a client sending a fresh spec per call must not grow it without end. */
export const rememberedSpecs = 1_000;

/**
 * Counts calls per model and spec so that `times=N` faults only the first N of them:
 * a retry or a later request then finds the upstream recovered. At most `limit` specs are
 * remembered; the one used longest ago is forgotten first (and would fault afresh).
 */
export function createFaultCounter(limit = rememberedSpecs): { applies(model: string, spec: string, fault: Fault): boolean } {
  const seen = new Map<string, number>();
  return {
    applies(model, spec, fault) {
      if (fault.times === undefined) return true;
      const key = `${model}\n${spec}`;
      const count = (seen.get(key) ?? 0) + 1;
      // Re-inserted so the map's order runs from least to most recently used.
      seen.delete(key);
      seen.set(key, count);
      const [oldest] = seen.keys();
      if (seen.size > limit && oldest !== undefined) seen.delete(oldest);
      return count <= fault.times;
    },
  };
}
