import { z } from "zod";

const envSchema = z.object({
  HOST: z.string().default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8788),
  /** Postgres server; without it the service runs embedded PGlite under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default(".data"),
  /** Fixes the dev tenant's API key instead of generating one on first start. */
  BREAKWATER_DEV_KEY: z.string().regex(/^bw_[A-Za-z0-9_-]{16,}$/, "must look like bw_ + at least 16 characters").optional(),
  MAX_BODY_BYTES: z.coerce.number().int().positive().default(1024 * 1024),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().nonnegative().default(30_000),
  /** How long a verified API key is trusted from memory before it is read again. */
  KEY_CACHE_TTL_MS: z.coerce.number().int().nonnegative().default(5_000),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.string().url().default("https://api.openai.com/v1"),
  /** Models served through the `openai` provider, comma separated. */
  OPENAI_MODELS: z.string().default("gpt-4o-mini,gpt-4o,text-embedding-3-small"),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  /** Without `/v1`, as Anthropic's SDKs take it. */
  ANTHROPIC_BASE_URL: z.string().url().default("https://api.anthropic.com"),
  /** Models served through the `anthropic` provider, comma separated. */
  ANTHROPIC_MODELS: z.string().default("claude-sonnet-4-5,claude-haiku-4-5"),
  /** JSON file of routes (model → ordered provider targets) and per-provider policies. */
  ROUTES_FILE: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});

export type Config = z.infer<typeof envSchema>;

/** Reads the configuration from the environment; a bad value stops start-up with its name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`Invalid configuration: ${problems.join("; ")}`);
}
