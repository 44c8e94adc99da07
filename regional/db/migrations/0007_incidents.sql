-- Incident history for the status page (regional/status/): breaker openings and closings and
-- failovers, from this region's breakers and from the edge's origin breakers. Subjects name a
-- provider, a provider/model or an origin, never a tenant or a key.
create table incidents (
  id bigserial primary key,
  at timestamptz not null,
  tier text not null check (tier in ('regional', 'edge')),
  kind text not null,
  subject text not null,
  detail jsonb not null default '{}'::jsonb,
  region text
);

-- The status page reads the last 24 hours, newest first.
create index incidents_at on incidents (at desc);
