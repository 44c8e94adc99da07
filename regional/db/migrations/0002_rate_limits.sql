-- What the edge enforces per API key and per tenant across its keys: requests and
-- tokens per minute. New rows get the defaults; an operator raises them per row.
alter table tenants
  add column rpm_limit integer not null default 3000 check (rpm_limit > 0),
  add column tpm_limit integer not null default 2000000 check (tpm_limit > 0);

alter table api_keys
  add column rpm_limit integer not null default 600 check (rpm_limit > 0),
  add column tpm_limit integer not null default 400000 check (tpm_limit > 0);
