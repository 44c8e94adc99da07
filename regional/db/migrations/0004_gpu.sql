-- GPU instances rented from the marketplaces (regional/gpu/). The row is written before
-- the marketplace is called, and its id is the label the instance carries there, so a
-- create whose answer was lost can be found again instead of being made twice.
create table gpu_instances (
  id uuid primary key,
  tenant_id uuid not null references tenants (id),
  status text not null check (status in ('pending', 'provisioning', 'running', 'terminating', 'terminated', 'failed')),
  -- Unknown until a marketplace accepted the create.
  provider text check (provider in ('vastai', 'ionet')),
  provider_instance_id text,
  -- The client's request as validated, and the offer rented (normalised shape).
  request jsonb not null,
  offer jsonb,
  failure text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index gpu_instances_tenant on gpu_instances (tenant_id, created_at desc, id desc);
create unique index gpu_instances_provider_id on gpu_instances (provider, provider_instance_id) where provider_instance_id is not null;

-- Every status change, written in the same transaction as the row's new status.
create table gpu_instance_events (
  id bigint generated always as identity primary key,
  instance_id uuid not null references gpu_instances (id),
  tenant_id uuid not null references tenants (id),
  from_status text,
  to_status text not null,
  reason text not null,
  at timestamptz not null default now()
);

create index gpu_instance_events_instance on gpu_instance_events (instance_id, id);

-- One row per (tenant, Idempotency-Key): the first request inserts it and does the work;
-- duplicates find it, and replay its stored answer once it is completed.
create table idempotency_keys (
  tenant_id uuid not null references tenants (id),
  key text not null,
  -- SHA-256 of method, path and canonical JSON body: the same key with another request is refused.
  request_hash text not null,
  state text not null check (state in ('in_progress', 'completed')),
  -- The resource the request made, set when the key is claimed.
  resource_id uuid,
  response_status integer,
  response_body jsonb,
  response_headers jsonb,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (tenant_id, key)
);

create index idempotency_keys_expires on idempotency_keys (expires_at);
