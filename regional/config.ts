import { z } from "zod";
import { defaultMaxJsonDepth, maxJsonDepthCeiling } from "../shared/json-depth.ts";
import { defaultMaxUploadBytes, maxUploadBytesCeiling } from "../shared/upload-limit.ts";
import { cidrListSetting } from "./http/trusted-proxies.ts";

/** Every setting the service reads; exported so tests can walk all of them. */
export const envSchema = z.object({
  HOST: z.string().default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8788),
  /** Set, `/metrics` is also served without a key on this port, for the private network the scraper runs in. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Where the METRICS_PORT listener binds; unset, HOST. */
  METRICS_HOST: z.string().min(1).optional(),
  /** Postgres server; without it the service runs embedded PGlite under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default(".data"),
  /** Streaming replicas of DATABASE_URL, comma separated; reads go to them round robin. */
  DATABASE_REPLICA_URLS: z
    .string()
    .optional()
    .transform((value) =>
      (value ?? "")
        .split(",")
        .map((url) => url.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().url())),
  // Database tuning; unset, `dbDefaults` in db/index.ts decides (one place for the defaults).
  /** Connections to the primary, and to each replica. */
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().optional(),
  DATABASE_REPLICA_POOL_SIZE: z.coerce.number().int().positive().optional(),
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  /** Idle pool connections close after this; 0 keeps them open. */
  DATABASE_IDLE_TIMEOUT_MS: z.coerce.number().int().nonnegative().optional(),
  /** Connections are replaced after this long; unset, postgres.js' 30 to 60 minutes. */
  DATABASE_MAX_LIFETIME_MS: z.coerce.number().int().positive().optional(),
  /** The password for DATABASE_URL and its replicas, over any in the URLs; as a reference, read again when Postgres refuses it. */
  DATABASE_PASSWORD: z.string().min(1).optional(),
  /** Replicas further behind the primary than this take no reads. */
  DATABASE_REPLICA_MAX_LAG_MS: z.coerce.number().int().positive().optional(),
  /** How often each node's WAL position (and so replica lag) is checked, and how long a check may take. */
  DATABASE_HEALTH_INTERVAL_MS: z.coerce.number().int().positive().optional(),
  DATABASE_HEALTH_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  /** How long a tenant's last commit position is remembered for read-your-writes. */
  DATABASE_RYW_TTL_MS: z.coerce.number().int().positive().optional(),
  /** Redis shared by the regional instances (read-your-writes positions); unset, each instance remembers its own. */
  REDIS_URL: z.string().url().optional(),
  /** Fixes the dev tenant's API key instead of generating one on first start. */
  BREAKWATER_DEV_KEY: z
    .string()
    .regex(/^bw_[A-Za-z0-9_-]{16,}$/, "must look like bw_ + at least 16 characters")
    .optional(),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** The largest upload (a multipart or binary body: an audio file) in bytes; JSON bodies keep MAX_BODY_BYTES. */
  MAX_UPLOAD_BYTES: z.coerce.number().int().positive().max(maxUploadBytesCeiling).default(defaultMaxUploadBytes),
  /** Request bodies nesting arrays and objects deeper than this are refused (400) before they are parsed. */
  MAX_JSON_DEPTH: z.coerce.number().int().positive().max(maxJsonDepthCeiling).default(defaultMaxJsonDepth),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().nonnegative().default(30_000),
  /** How long a verified API key is trusted from memory before it is read again. */
  KEY_CACHE_TTL_MS: z.coerce.number().int().nonnegative().default(5_000),
  /** Shared with the edge: when set, /v1/* and /internal/* accept only calls the edge signed with it. */
  EDGE_SIGNING_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** The edge's Upstash Redis: revoking a key deletes its cached record there (REST URL and token). */
  UPSTASH_REDIS_REST_URL: z.string().url().optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
  /** Requests and tokens per minute for the dev key and its tenant; unset, the schema defaults. */
  BREAKWATER_DEV_RPM: z.coerce.number().int().positive().optional(),
  BREAKWATER_DEV_TPM: z.coerce.number().int().positive().optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.string().url().default("https://api.openai.com/v1"),
  /** Models served through the `openai` provider, comma separated. */
  OPENAI_MODELS: z.string().default("gpt-4o-mini,gpt-4o,text-embedding-3-small"),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  /** Without `/v1`, as Anthropic's SDKs take it. */
  ANTHROPIC_BASE_URL: z.string().url().default("https://api.anthropic.com"),
  /** Models served through the `anthropic` provider, comma separated. */
  ANTHROPIC_MODELS: z.string().default("claude-sonnet-4-5,claude-haiku-4-5"),
  /** GPU marketplaces; with neither key set, both are served by in-process mocks. */
  VASTAI_API_KEY: z.string().min(1).optional(),
  VASTAI_BASE_URL: z.string().url().default("https://console.vast.ai/api/v0"),
  IONET_API_KEY: z.string().min(1).optional(),
  IONET_BASE_URL: z.string().url().default("https://api.io.solutions/enterprise/v1/io-cloud/caas"),
  /** Deadline of one marketplace call, and of a create (past it, the create is reconciled by label). */
  GPU_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  GPU_CREATE_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** How often unfinished GPU instances are refreshed from their marketplace; 0 turns the poller off. */
  GPU_POLL_INTERVAL_MS: z.coerce.number().int().nonnegative().default(15_000),
  /** How often each marketplace's labelled instances are reconciled with the database (orphans destroyed or adopted); 0 turns the sweep off. */
  GPU_SWEEP_INTERVAL_MS: z.coerce.number().int().nonnegative().default(300_000),
  /** A GPU instance degraded or stopped this long is given up and destroyed; 0 never gives up. */
  GPU_GIVE_UP_AFTER_MS: z.coerce.number().int().nonnegative().default(1_800_000),
  /** JSON file of routes (model → ordered provider targets) and per-provider policies. */
  ROUTES_FILE: z.string().min(1).optional(),
  /**
   * The mock providers and `x-mock-fault`; unset, on only in local mode (no DATABASE_URL),
   * since any tenant could otherwise make them misbehave in production.
   */
  MOCK_PROVIDERS: z.enum(["on", "off"]).optional(),
  /** This service's region: the audit log keeps one hash chain and one journal per region. */
  REGION: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, - and _ only")
    .default("local"),
  /** The admin API's credential (`Authorization: Bearer`); unset, the admin API answers 403. */
  ADMIN_API_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  /** Signs audit checkpoints; required unless the service is local (embedded database or loopback). */
  AUDIT_CHECKPOINT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  AUDIT_FLUSH_INTERVAL_MS: z.coerce.number().int().positive().default(1_000),
  AUDIT_FLUSH_EVENTS: z.coerce.number().int().positive().default(100),
  AUDIT_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().positive().default(60_000),
  /** Auth failures audited per client address and minute; the rest are counted into the next one. */
  AUDIT_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().positive().default(10),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** Requests taking longer (streams: until their first byte) are logged as `slow request`, at warn; 0 turns it off. Unset, the access log's default (5 s). */
  SLOW_REQUEST_MS: z.coerce.number().int().nonnegative().optional(),
  /** Load balancers whose X-Forwarded-For (or cf-connecting-ip) is believed: addresses or CIDRs, comma separated; unset, none. */
  TRUSTED_PROXIES: cidrListSetting,
  // Secrets Manager, for settings given as `secretsmanager:NAME[#json-key]` (regional/secrets/settings.ts).
  /** Another endpoint than AWS's (a local server, LocalStack); unset, the region's. */
  SECRETS_MANAGER_ENDPOINT: z.string().url().optional(),
  /** Unset, the SDK's (AWS_REGION, the ECS task's region). */
  SECRETS_MANAGER_REGION: z.string().min(1).optional(),
  /** How long a secret is served from memory before it is read again (plus up to 10 % jitter). */
  SECRETS_CACHE_TTL_MS: z.coerce.number().int().positive().default(300_000),
});

/** What is needed to read secrets, before the rest of the configuration (whose secrets they are) can be checked. */
const secretsSchema = envSchema.pick({
  SECRETS_MANAGER_ENDPOINT: true,
  SECRETS_MANAGER_REGION: true,
  SECRETS_CACHE_TTL_MS: true,
  LOG_LEVEL: true,
});
export type SecretsConfig = z.infer<typeof secretsSchema>;

export type Config = z.infer<typeof envSchema>;

/** Reads the configuration from the environment; a bad value stops start-up with its name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parsed(envSchema, env);
}

export function loadSecretsConfig(env: NodeJS.ProcessEnv = process.env): SecretsConfig {
  return parsed(secretsSchema, env);
}

function parsed<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv): T {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`Invalid configuration: ${problems.join("; ")}`);
}
