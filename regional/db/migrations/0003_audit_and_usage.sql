-- The audit log: one hash chain per region (see regional/audit/hash-chain.ts).
-- Columns are the fields of the hashed event; changing any of them breaks the chain.
create table audit_log (
  region text not null,
  seq bigint not null,
  event_id uuid not null,
  occurred_at timestamptz not null,
  actor_type text not null,
  actor_id text not null,
  action text not null,
  resource text not null,
  result text not null,
  -- Text rather than uuid/inet: stored exactly as hashed, never normalised by a cast.
  tenant_id text,
  ip text,
  user_agent text,
  request_id text,
  metadata jsonb not null,
  prev_hash bytea not null,
  hash bytea not null,
  primary key (region, seq),
  -- Retries and journal replays are idempotent because an event id is stored once.
  constraint audit_log_event_id unique (event_id)
);

create index audit_log_occurred_at on audit_log (region, occurred_at);
create index audit_log_tenant on audit_log (tenant_id, seq) where tenant_id is not null;
create index audit_log_action on audit_log (action, seq);

-- Append-only: the service never edits or deletes an event. This stops mistakes and
-- the service's own role; the hash chain and signed checkpoints catch everyone else.
create function audit_log_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only (% refused)', tg_op;
end;
$$;

create trigger audit_log_no_update before update or delete on audit_log
  for each row execute function audit_log_append_only();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_append_only();

-- Signed chain heads, written at intervals: they reveal a removed tail.
create table audit_checkpoints (
  id bigserial primary key,
  region text not null,
  seq bigint not null,
  hash bytea not null,
  created_at timestamptz not null,
  signature bytea not null
);

create index audit_checkpoints_region on audit_checkpoints (region, seq);

-- Per-request inference usage; high volume and not part of the audit chain.
create table usage (
  id bigserial primary key,
  tenant_id uuid not null,
  key_id uuid,
  request_id text,
  kind text not null,
  provider text,
  model text,
  status integer not null,
  prompt_tokens integer,
  completion_tokens integer,
  total_tokens integer,
  latency_ms integer not null,
  created_at timestamptz not null default now()
);

create index usage_tenant_time on usage (tenant_id, created_at);
