import type { SecretsConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import { secretsManagerSource } from "./secrets-manager.ts";
import { createSecrets, type Secrets } from "./secrets.ts";
import { createSecretStore } from "./store.ts";

/** The service's secrets, read from AWS Secrets Manager (or the endpoint configured) once something refers to one. */
export function openSecrets(config: SecretsConfig, logger: Logger): Secrets {
  const source = secretsManagerSource({
    ...(config.SECRETS_MANAGER_ENDPOINT !== undefined && { endpoint: config.SECRETS_MANAGER_ENDPOINT }),
    ...(config.SECRETS_MANAGER_REGION !== undefined && { region: config.SECRETS_MANAGER_REGION }),
  });
  return createSecrets(createSecretStore({ source, ttlMs: config.SECRETS_CACHE_TTL_MS, logger }), logger);
}
