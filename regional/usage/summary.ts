import type { Sql } from "../db/index.ts";
import { add, formatMoney, moneyOf, zero, type Money } from "../pricing/money.ts";

/** Requests, tokens and cost of one slice of usage (a tenant, a key, a provider/model). */
export interface UsageTotals {
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** USD, exact, as decimal text: the sum over requests whose cost is known. */
  cost_usd: string;
  /** Answered requests whose cost is not known (no price for their model, or no usage reported): not in `cost_usd`. */
  unpriced_requests: number;
}

export interface UsageBreakdown extends UsageTotals {
  provider: string | null;
  model: string | null;
}

export interface KeyUsage extends UsageTotals {
  key_id: string | null;
}

export interface TenantUsage extends UsageTotals {
  tenant_id: string;
  latency_ms: { avg: number; p95: number };
  by_model: UsageBreakdown[];
  by_key: KeyUsage[];
}

interface TotalsRow {
  tenant_id: string;
  requests: string;
  errors: string;
  prompt_tokens: string;
  completion_tokens: string;
  total_tokens: string;
  cost_usd: string | null;
  unpriced_requests: string;
}

interface LatencyRow {
  tenant_id: string;
  avg: number;
  p95: number;
}

const totalsOf = (row: TotalsRow): UsageTotals => ({
  requests: Number(row.requests),
  errors: Number(row.errors),
  prompt_tokens: Number(row.prompt_tokens),
  completion_tokens: Number(row.completion_tokens),
  total_tokens: Number(row.total_tokens),
  cost_usd: row.cost_usd === null ? "0" : formatMoney(moneyOf(row.cost_usd)),
  unpriced_requests: Number(row.unpriced_requests),
});

/**
 * Usage per tenant in [since, until), with the split by provider and model and by key. Cost
 * is summed by Postgres in `numeric` and added up here in exact decimals: never a float.
 */
export async function summariseUsage(sql: Sql, window: { tenantId?: string; since: Date; until: Date }): Promise<TenantUsage[]> {
  const tenant = window.tenantId ? sql`and tenant_id = ${window.tenantId}` : sql``;
  const where = sql`where created_at >= ${window.since} and created_at < ${window.until} ${tenant}`;
  const totals = sql`
    count(*) as requests, count(*) filter (where status >= 400) as errors,
    coalesce(sum(prompt_tokens), 0) as prompt_tokens, coalesce(sum(completion_tokens), 0) as completion_tokens,
    coalesce(sum(total_tokens), 0) as total_tokens, sum(cost_usd)::text as cost_usd,
    count(*) filter (where status < 400 and cost_usd is null) as unpriced_requests`;
  const [models, keys, latencies] = await Promise.all([
    sql<(TotalsRow & { provider: string | null; model: string | null })[]>`
      select tenant_id, provider, model, ${totals} from usage ${where}
      group by tenant_id, provider, model order by tenant_id, provider, model`,
    sql<(TotalsRow & { key_id: string | null })[]>`
      select tenant_id, key_id, ${totals} from usage ${where} group by tenant_id, key_id order by tenant_id, key_id`,
    sql<LatencyRow[]>`
      select tenant_id, avg(latency_ms)::float8 as avg, percentile_cont(0.95) within group (order by latency_ms)::float8 as p95
      from usage ${where} group by tenant_id`,
  ]);
  const byTenant = new Map<string, TenantUsage & { cost: Money }>();
  for (const latency of latencies) {
    byTenant.set(latency.tenant_id, {
      tenant_id: latency.tenant_id,
      requests: 0,
      errors: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      cost_usd: "0",
      unpriced_requests: 0,
      cost: zero,
      latency_ms: { avg: Math.round(latency.avg), p95: Math.round(latency.p95) },
      by_model: [],
      by_key: [],
    });
  }
  for (const row of models) {
    const summary = byTenant.get(row.tenant_id);
    if (!summary) continue;
    const part = totalsOf(row);
    summary.by_model.push({ provider: row.provider, model: row.model, ...part });
    summary.requests += part.requests;
    summary.errors += part.errors;
    summary.prompt_tokens += part.prompt_tokens;
    summary.completion_tokens += part.completion_tokens;
    summary.total_tokens += part.total_tokens;
    summary.unpriced_requests += part.unpriced_requests;
    summary.cost = add(summary.cost, moneyOf(part.cost_usd));
  }
  for (const row of keys) byTenant.get(row.tenant_id)?.by_key.push({ key_id: row.key_id, ...totalsOf(row) });
  return [...byTenant.values()].map(({ cost, ...summary }) => ({ ...summary, cost_usd: formatMoney(cost) }));
}
