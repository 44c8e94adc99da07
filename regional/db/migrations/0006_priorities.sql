-- Admission priority (regional/admission/): which requests a route's queue serves first when
-- its slots are taken. A tenant's applies to its keys; a key may set its own (null: the tenant's).
alter table tenants
  add column priority text not null default 'normal' check (priority in ('high', 'normal', 'low'));

alter table api_keys
  add column priority text check (priority in ('high', 'normal', 'low'));
