-- GPU instances that cannot leak money (regional/gpu/): a marketplace's unhealthy states are
-- live states (degraded, stopped) instead of a terminal `failed`; the marketplace's own word
-- for the state is kept; the label the instance carries at the marketplace is stored, so
-- the sweep can tell Breakwater's instances (and this region's) from anything else there.
alter table gpu_instances drop constraint gpu_instances_status_check;
alter table gpu_instances add constraint gpu_instances_status_check
  check (status in ('pending', 'provisioning', 'running', 'degraded', 'stopped', 'terminating', 'terminated', 'failed'));

alter table gpu_instances add column provider_status text;
-- Rows from before this migration were labelled with their bare id.
alter table gpu_instances add column label text;
update gpu_instances set label = id::text;
alter table gpu_instances alter column label set not null;
-- When the row entered its current status: an instance degraded or stopped for too long is given up.
alter table gpu_instances add column status_since timestamptz not null default now();
update gpu_instances set status_since = updated_at;

-- When the poller last asked the marketplace: each round takes the least recently checked,
-- so every live instance gets its turn however many there are.
alter table gpu_instances add column checked_at timestamptz;
create index gpu_instances_live on gpu_instances (checked_at nulls first, updated_at)
  where status in ('pending', 'provisioning', 'running', 'degraded', 'stopped', 'terminating');
