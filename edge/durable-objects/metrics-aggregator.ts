import { DurableObject } from "cloudflare:workers";

/**
 * The edge's counts summed across isolates: each isolate sends what it counted since its
 * last flush (series keyed by their Prometheus text form, see `edge/metrics/series.ts`), and
 * `/metrics` reads the sums. A few objects (shards, `edge/metrics/aggregate.ts`) share the
 * flushes; a scrape adds them up. Sums live in SQLite and never reset, so they are true
 * Prometheus counters across restarts and deploys. Each method is synchronous: one flush is
 * applied whole before the next, and a read never sees half of one.
 */
export class MetricsAggregator extends DurableObject<unknown> {
  // `unknown` bindings: it reads none (see RateLimiter).
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec("create table if not exists series (key text primary key, value real not null)");
  }

  /** Adds each delta to its series' sum. */
  add(deltas: [string, number][]): void {
    for (const [key, delta] of deltas) {
      if (!Number.isFinite(delta)) continue;
      this.ctx.storage.sql.exec(
        "insert into series (key, value) values (?, ?) on conflict (key) do update set value = value + excluded.value",
        key,
        delta,
      );
    }
  }

  /** Every series with its sum. */
  read(): { key: string; value: number }[] {
    return this.ctx.storage.sql.exec<{ key: string; value: number }>("select key, value from series").toArray();
  }
}
