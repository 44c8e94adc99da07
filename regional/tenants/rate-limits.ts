import type postgres from "postgres";

/**
 * A change to a key's or tenant's requests and tokens per minute (`rpm_limit`, `tpm_limit`):
 * a number sets one, null puts the schema's default back, absent leaves it.
 */
export interface RateLimitChange {
  rpm?: number | null;
  tpm?: number | null;
}

/**
 * The `set` list of an update applying `change` to a row of `api_keys` or `tenants`. Null
 * becomes SQL `default`, so the defaults stay written in one place: the migration.
 */
export function limitAssignments(sql: postgres.Sql | postgres.TransactionSql, change: RateLimitChange): postgres.Fragment {
  const value = (column: string, next: number | null | undefined): postgres.Fragment =>
    next === undefined ? sql`${sql(column)}` : next === null ? sql`default` : sql`${next}`;
  return sql`rpm_limit = ${value("rpm_limit", change.rpm)}, tpm_limit = ${value("tpm_limit", change.tpm)}`;
}
