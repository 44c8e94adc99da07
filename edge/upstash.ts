import { Redis } from "@upstash/redis/cloudflare";

/** How long any one Upstash call may take: it is a cache, and the request goes on without it. */
const upstashTimeoutMs = 500;

const clients = new Map<string, Redis>();

/** The Upstash client for this endpoint and token, made once per isolate: no retries, short timeout. */
export function upstashClient(config: { url: string; token: string }): Redis {
  const id = `${config.url} ${config.token}`;
  let client = clients.get(id);
  if (!client) {
    client = new Redis({
      url: config.url,
      token: config.token,
      retry: false,
      enableTelemetry: false,
      readYourWrites: false,
      signal: () => AbortSignal.timeout(upstashTimeoutMs),
    });
    clients.set(id, client);
  }
  return client;
}
