-- Spend budgets (regional/budgets/): a tenant's, or one of its keys', per day or per month, in
-- US dollars or tokens. Regional stores them and hands them to the edge in key records; the
-- edge enforces them.
create table budgets (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id),
  scope text not null check (scope in ('tenant', 'key')),
  -- The tenant's id for a tenant budget, the key's for a key budget.
  owner_id uuid not null,
  period text not null check (period in ('day', 'month')),
  unit text not null check (unit in ('usd', 'tokens')),
  -- Exact: dollars are decimal, and a limit must read back as it was set.
  limit_amount numeric not null check (limit_amount > 0),
  soft_threshold numeric check (soft_threshold > 0 and soft_threshold < 1),
  time_zone text not null default 'UTC',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint budgets_one_per_period unique (scope, owner_id, period)
);

-- Key records read the budgets of a key and of its tenant.
create index budgets_owner on budgets (owner_id);

-- What each request cost in US dollars, from the serving provider's prices and the usage it
-- reported; null where no price was known. Numeric, so sums are exact.
alter table usage add column cost_usd numeric;
