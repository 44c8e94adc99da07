create table tenants (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  status text not null default 'active' check (status in ('active', 'disabled')),
  created_at timestamptz not null default now()
);

create table api_keys (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id),
  name text not null default '',
  -- The first characters of the key, shown to people and used to find the row;
  -- the key itself is never stored, only its SHA-256.
  prefix text not null,
  key_hash bytea not null unique,
  status text not null default 'active' check (status in ('active', 'revoked')),
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);

create index api_keys_prefix on api_keys (prefix);
