/**
 * Settings regional/config.ts reads that the ECS task definition leaves unset on purpose,
 * although they have no default in the schema. Every other setting without a default must be
 * set in infra/modules/aws-region/environment.tf: a new one fails the test until someone
 * decides which it is.
 */
export const deliberatelyUnset: Readonly<Record<string, string>> = {
  BREAKWATER_DEV_KEY: "the local dev tenant only; a deployment creates tenants through the admin API",
  BREAKWATER_DEV_RPM: "the local dev tenant only",
  BREAKWATER_DEV_TPM: "the local dev tenant only",
  DATABASE_POOL_SIZE: "tuning: unset, dbDefaults in regional/db/index.ts decide",
  DATABASE_REPLICA_POOL_SIZE: "tuning: unset, dbDefaults decide",
  DATABASE_CONNECT_TIMEOUT_MS: "tuning: unset, dbDefaults decide",
  DATABASE_IDLE_TIMEOUT_MS: "tuning: unset, dbDefaults decide",
  DATABASE_MAX_LIFETIME_MS: "tuning: unset, postgres.js decides",
  DATABASE_REPLICA_MAX_LAG_MS: "tuning: unset, dbDefaults decide",
  DATABASE_HEALTH_INTERVAL_MS: "tuning: unset, dbDefaults decide",
  DATABASE_HEALTH_TIMEOUT_MS: "tuning: unset, dbDefaults decide",
  DATABASE_RYW_TTL_MS: "tuning: unset, dbDefaults decide",
  METRICS_PORT: "unset until a metrics collector runs beside the task; /metrics stays reachable with the admin key",
  METRICS_HOST: "unset, HOST: the task's own network",
  SLOW_REQUEST_MS: "tuning: unset, the access log's default (5 s) decides",
  SECRETS_MANAGER_ENDPOINT: "tests and LocalStack only; on ECS the region's own endpoint is right",
  SECRETS_MANAGER_REGION: "unset, the SDK takes the task's region (ECS sets AWS_REGION), where every replicated secret is",
};
