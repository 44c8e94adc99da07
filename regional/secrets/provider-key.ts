import { GatewayError } from "../../shared/error.ts";
import type { Provider } from "../providers/types.ts";
import type { LiveSecret } from "./live-secret.ts";

/** Statuses with which a provider refuses our credentials (not the client's request). */
const refusals = new Set([401, 403]);

/**
 * The provider, reading its key from Secrets Manager again whenever it refuses it: a key
 * rotated there is in use from the next call on instead of after the cache's TTL. The call
 * that was refused still fails (the router moves on to the next target); reads after
 * refusals close together share one call to Secrets Manager.
 */
export function refreshKeyOnRefusal(provider: Provider, key: LiveSecret): Provider {
  const refused = (error: unknown): never => {
    if (error instanceof GatewayError && error.upstreamStatus !== undefined && refusals.has(error.upstreamStatus)) {
      void key.refresh(`${provider.name} answered ${error.upstreamStatus}`).catch(() => {});
    }
    throw error;
  };
  return {
    ...provider,
    chat: (request, context) => provider.chat(request, context).catch(refused),
    chatStream: (request, context) => provider.chatStream(request, context).catch(refused),
    embeddings: (request, context) => provider.embeddings(request, context).catch(refused),
  };
}
