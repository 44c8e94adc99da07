import type { SecretSource } from "./store.ts";

export interface SecretsManagerOptions {
  /** Another endpoint than AWS's (a local server in tests, LocalStack); unset, the region's. */
  endpoint?: string;
  /** Unset, the SDK's own chain decides (AWS_REGION, the profile, the ECS task's region). */
  region?: string;
  /** Unset, the SDK's default chain (environment, ECS task role, instance profile...). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Longest wait for a connection, and for an answer, per attempt. */
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Attempts per read, the SDK retrying throttling and 5xx with backoff in between. */
  maxAttempts?: number;
}

/** The region an ARN names (`arn:aws:secretsmanager:eu-west-1:...`); a plain name names none. */
const arnRegion = (name: string): string | undefined => /^arn:[^:]+:secretsmanager:([a-z0-9-]+):/.exec(name)?.[1];

/**
 * Reads secrets with `GetSecretValue`. The SDK is imported on the first read, so a service
 * that refers to no secret never loads it (it is most of what a reference costs in memory).
 * A secret given by ARN is read in the ARN's region (one in the primary region, such as an
 * RDS-managed password, from a service in another); a name, in the configured region.
 */
export function secretsManagerSource(options: SecretsManagerOptions = {}): SecretSource {
  const clients = new Map<string | undefined, Promise<Client>>();
  const clientFor = (name: string): Promise<Client> => {
    // A custom endpoint (a local server) serves every region.
    const region = options.endpoint === undefined ? (arnRegion(name) ?? options.region) : options.region;
    let client = clients.get(region);
    if (!client) {
      client = connect({ ...options, ...(region !== undefined && { region }) }).catch((error: unknown) => {
        clients.delete(region);
        throw error;
      });
      clients.set(region, client);
    }
    return client;
  };
  return async (name, stage) => {
    const { send } = await clientFor(name);
    try {
      const answer = await send(name, stage);
      if (answer.SecretString === undefined)
        throw new Error(`secretsmanager:${name} holds binary data; only text secrets (SecretString) are supported`);
      return { value: answer.SecretString, versionId: answer.VersionId ?? "" };
    } catch (error) {
      // Asked for a stage the secret does not have (a first version has no AWSPREVIOUS).
      if (error instanceof Error && error.name === "ResourceNotFoundException" && stage !== "AWSCURRENT") return null;
      throw error;
    }
  };
}

interface Client {
  send(name: string, stage: string): Promise<{ SecretString?: string; VersionId?: string }>;
}

async function connect(options: SecretsManagerOptions): Promise<Client> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
  const client = new SecretsManagerClient({
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    // A custom endpoint still signs requests for some region; a local server does not care which.
    ...(options.region !== undefined
      ? { region: options.region }
      : options.endpoint !== undefined && !process.env.AWS_REGION && { region: "us-east-1" }),
    ...(options.credentials !== undefined && { credentials: options.credentials }),
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: { connectionTimeout: options.connectTimeoutMs ?? 2_000, requestTimeout: options.requestTimeoutMs ?? 5_000 },
  });
  return { send: (name, stage) => client.send(new GetSecretValueCommand({ SecretId: name, VersionStage: stage })) };
}
