/** Field names that carry credentials: their values are logged as `[redacted]`, whatever they are, at any depth. */
export const credentialFields = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
  "apiKey",
  "api_key",
  "password",
  "secret",
  "token",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
  "clientSecret",
  "client_secret",
  "signingSecret",
  "checkpointSecret",
  // Settings that hold secrets, should a configuration object be logged (either tier's).
  "DATABASE_PASSWORD",
  "ADMIN_API_KEY",
  "AUDIT_CHECKPOINT_SECRET",
  "EDGE_SIGNING_SECRET",
  "UPSTASH_REDIS_REST_TOKEN",
  "METRICS_API_KEY",
  "OPENAI_API_KEY",
  "ANTHROPIC_API_KEY",
  "VASTAI_API_KEY",
  "IONET_API_KEY",
] as const;

/** The same names in lower case, matched without regard to case. */
export const credentialFieldNames: ReadonlySet<string> = new Set(credentialFields.map((name) => name.toLowerCase()));
