import type { MiddlewareHandler } from "hono";
import { costHeader } from "../../shared/contract/budgets.ts";
import type { Usage } from "../../shared/contract/chat.ts";
import type { TargetMetrics } from "../observability/target-metrics.ts";
import { costOf } from "../pricing/cost.ts";
import { formatMoney, type Money } from "../pricing/money.ts";
import type { PriceBook } from "../pricing/prices.ts";
import type { UsageEvent, UsageRecorder } from "../usage/recorder.ts";
import type { AppEnv, Measured, UsageTap } from "./context.ts";

const kinds: Record<string, UsageEvent["kind"]> = {
  "/v1/chat/completions": "chat",
  "/v1/embeddings": "embeddings",
  "/v1/responses": "responses",
  "/v1/completions": "completions",
  "/v1/images/generations": "images",
  "/v1/audio/transcriptions": "transcription",
  "/v1/audio/speech": "speech",
  "/v1/moderations": "moderation",
};

/**
 * Records usage of each authenticated inference request: status, provider, latency until
 * the last byte, tokens and cost. The routes report tokens as they know them (the provider's
 * usage, asked for on streams too), so no response is copied or parsed again here. A whole
 * answer's cost, when known, goes out in `x-breakwater-cost-usd` (a stream's, the route writes
 * at its end).
 */
export const usageMeter = (usage: UsageRecorder, tokens?: TargetMetrics, prices?: PriceBook): MiddlewareHandler<AppEnv> =>
  async function usageMeter(c, next) {
    const kind = c.req.method === "POST" ? kinds[c.req.path] : undefined;
    if (!kind) return await next();
    const started = performance.now();
    let measured: Measured | null = null;
    let deferred = false;
    c.set("usage", {
      set: (found) => {
        measured = found;
      },
      defer: () => {
        deferred = true;
        return (found) => record(found, priced(found));
      },
      cost: (billed) => costOf(prices, billed),
    });
    const priced = (found: Measured | null) => (found?.billed ? costOf(prices, found.billed) : null);
    const record = (found: Measured | null, cost: Money | null) => {
      const auth = c.get("auth");
      if (!auth) return;
      const provider = c.res.headers.get("x-breakwater-provider");
      if (tokens && provider && found?.model && found.usage) countTokens(tokens, provider, found.model, found.usage);
      usage.record({
        tenantId: auth.tenantId,
        keyId: auth.keyId,
        requestId: c.get("requestId"),
        kind,
        provider,
        model: found?.model ?? null,
        status: c.res.status,
        promptTokens: found?.usage?.prompt_tokens ?? null,
        completionTokens: found?.usage?.completion_tokens ?? null,
        totalTokens: found?.usage?.total_tokens ?? null,
        costUsd: cost,
        latencyMs: performance.now() - started,
        at: new Date(),
      });
    };
    await next();
    if (deferred && c.res.status < 400) return;
    const cost = c.res.status < 400 ? priced(measured) : null;
    if (cost) c.res.headers.set(costHeader, formatMoney(cost));
    record(measured, cost);
  };

/** Tokens in and out per provider and model (`provider/model` as recorded, the provider's part left off). */
function countTokens(tokens: TargetMetrics, provider: string, model: string, usage: Partial<Usage>): void {
  const prefixed = model.startsWith(provider) && model[provider.length] === "/";
  const target = tokens.of(provider, prefixed ? model.slice(provider.length + 1) : model);
  if (usage.prompt_tokens) target.input.inc(usage.prompt_tokens);
  if (usage.completion_tokens) target.output.inc(usage.completion_tokens);
}
