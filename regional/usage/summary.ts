import type { Sql } from "../db/index.ts";

export interface UsageBreakdown {
  provider: string | null;
  model: string | null;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface TenantUsage extends Omit<UsageBreakdown, "provider" | "model"> {
  tenant_id: string;
  latency_ms: { avg: number; p95: number };
  by_model: UsageBreakdown[];
}

interface Row {
  tenant_id: string;
  provider: string | null;
  model: string | null;
  requests: string;
  errors: string;
  prompt_tokens: string;
  completion_tokens: string;
  total_tokens: string;
}

interface LatencyRow {
  tenant_id: string;
  avg: number;
  p95: number;
}

/** Usage per tenant in [since, until), with the split by provider and model. */
export async function summariseUsage(sql: Sql, window: { tenantId?: string; since: Date; until: Date }): Promise<TenantUsage[]> {
  const tenant = window.tenantId ? sql`and tenant_id = ${window.tenantId}` : sql``;
  const [rows, latencies] = await Promise.all([
    sql<Row[]>`
      select tenant_id, provider, model, count(*) as requests, count(*) filter (where status >= 400) as errors,
             coalesce(sum(prompt_tokens), 0) as prompt_tokens, coalesce(sum(completion_tokens), 0) as completion_tokens,
             coalesce(sum(total_tokens), 0) as total_tokens
      from usage where created_at >= ${window.since} and created_at < ${window.until} ${tenant}
      group by tenant_id, provider, model order by tenant_id, provider, model`,
    sql<LatencyRow[]>`
      select tenant_id, avg(latency_ms)::float8 as avg, percentile_cont(0.95) within group (order by latency_ms)::float8 as p95
      from usage where created_at >= ${window.since} and created_at < ${window.until} ${tenant}
      group by tenant_id`,
  ]);
  const byTenant = new Map<string, TenantUsage>();
  for (const latency of latencies) {
    byTenant.set(latency.tenant_id, {
      tenant_id: latency.tenant_id,
      requests: 0,
      errors: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      latency_ms: { avg: Math.round(latency.avg), p95: Math.round(latency.p95) },
      by_model: [],
    });
  }
  for (const row of rows) {
    const summary = byTenant.get(row.tenant_id);
    if (!summary) continue;
    const part: UsageBreakdown = {
      provider: row.provider,
      model: row.model,
      requests: Number(row.requests),
      errors: Number(row.errors),
      prompt_tokens: Number(row.prompt_tokens),
      completion_tokens: Number(row.completion_tokens),
      total_tokens: Number(row.total_tokens),
    };
    summary.by_model.push(part);
    summary.requests += part.requests;
    summary.errors += part.errors;
    summary.prompt_tokens += part.prompt_tokens;
    summary.completion_tokens += part.completion_tokens;
    summary.total_tokens += part.total_tokens;
  }
  return [...byTenant.values()];
}
