import type { ModelCapabilities } from "../types.ts";

/**
 * Claude models by generation, from their ids (aliases and dated snapshots alike): the
 * 3.x family, Claude 4 and 4.1 (`claude-opus-4-1`, `claude-sonnet-4-20250514`, ...), and
 * the 4.5 generation (`claude-haiku-4-5`, `claude-sonnet-4-5-20250929`, ...).
 */
const before45 = /^claude-(?:3|instant|(?:opus|sonnet|haiku)-4(?:-[01])?(?:-\d{8})?$)/;
const before46 = /^claude-(?:3|instant|(?:opus|sonnet|haiku)-4(?:-[0-5])?(?:-\d{8})?$)/;

/**
 * What a Claude model accepts through the Messages API (2023-06-01), per Anthropic's docs;
 * a model newer than these rules knew is taken to behave as the newest they describe.
 * - prefill: accepted up to the 4.5 generation; "Prefilling assistant messages returns a
 *   400 error on Claude 4.6 models" (platform.claude.com, What's new in Claude 4.6).
 * - `temperature` with `top_p`: "You should either alter temperature or top_p, but not
 *   both"; Opus 4.1 and the 4.5 generation answer 400 when both are set.
 * - `response_format`: `json_schema` becomes `output_config.format` (structured outputs,
 *   generally available from the 4.5 generation); `json_object` has no equivalent.
 * - no `stream_options`: Anthropic's streams always report usage.
 */
export function anthropicCapabilities(model: string): ModelCapabilities {
  return {
    streamOptions: false,
    temperatureWithTopP: false,
    prefill: before46.test(model),
    tools: true,
    responseFormat: before45.test(model) ? [] : ["json_schema"],
  };
}
