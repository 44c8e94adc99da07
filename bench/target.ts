import type { PathName } from "./options.ts";

/** One way to reach the upstream: directly, or through one or both gateway tiers. */
export interface Target {
  path: PathName;
  /** Full URL of `POST /v1/chat/completions`. */
  url: string;
  /** The model as this path names it (`bench-model` upstream, `openai/bench-model` via the gateway). */
  model: string;
  headers: Record<string, string>;
}

/**
 * A small chat request. `nonce` makes each body unique so no cache tier can answer it: the
 * bench measures the full path to the upstream, not cache hits.
 */
export function chatBody(model: string, nonce: string, stream: boolean): string {
  return JSON.stringify({
    model,
    messages: [{ role: "user", content: `Say hello to the benchmark (${nonce}).` }],
    max_tokens: 16,
    ...(stream ? { stream: true } : {}),
  });
}
