import type { PublicStatus } from "../../shared/status/types.ts";
import { withComponents } from "../../shared/status/with-components.ts";
import { errorText, log } from "../log.ts";
import { count } from "../metrics/isolate.ts";
import { breakerViews } from "../origins/breakers.ts";
import { originComponents } from "./origin-components.ts";
import { regionalPublicStatus, type StatusCallContext } from "./regional-status.ts";

export interface PublicStatusContext extends StatusCallContext {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * How long one view of the status is served. Anyone may load the page as often as they like:
 * within this time a location asks regional (and the breakers) once, whatever the load.
 */
export const statusTtlMs = 5_000;
const cacheBase = "https://status.breakwater.internal/public/";

interface Cached {
  /** Epoch ms until which this view is served. */
  until: number;
  status: PublicStatus;
}

const memory = new Map<string, Cached>();
const building = new Map<string, Promise<Cached>>();

/**
 * The public status as the edge shows it: regional's routes, providers and incidents, plus the
 * edge's origins with their breakers. Taken from this isolate's memory, else this location's
 * Cache API, else built (one build per isolate at a time; it runs in `waitUntil`, so a client
 * that leaves does not cancel it for the others waiting on it). Never throws for regional
 * being down: then the edge's own view (every origin down, saying so) is served and cached.
 */
export async function edgePublicStatus(context: PublicStatusContext): Promise<PublicStatus> {
  // Keyed by the origin list: the isolate's configuration.
  const key = context.origins.map((origin) => origin.name).join(",");
  const known = memory.get(key);
  if (known && known.until > Date.now()) return known.status;
  let running = building.get(key);
  if (!running) {
    running = fromLocation(key)
      .then(async (found) => found ?? (await build(context, key)))
      .then((cached) => {
        memory.set(key, cached);
        return cached;
      })
      .finally(() => building.delete(key));
    building.set(key, running);
    context.waitUntil(running);
  }
  return (await running).status;
}

async function fromLocation(key: string): Promise<Cached | null> {
  try {
    count("breakwater_edge_cache_api_calls_total", { operation: "match", use: "status" });
    const hit = await caches.default.match(cacheBase + encodeURIComponent(key));
    if (!hit) return null;
    const cached = (await hit.json()) as Cached;
    return cached.until > Date.now() ? cached : null;
  } catch {
    return null;
  }
}

async function build(context: PublicStatusContext, key: string): Promise<Cached> {
  let regional: PublicStatus | null = null;
  try {
    regional = await regionalPublicStatus(context);
  } catch (error) {
    log("warn", "regional status unavailable: serving the edge's own view", context, { error: errorText(error) });
  }
  // After the regional call, so the views include what its failures did to the breakers.
  const views = await breakerViews(context.breakers, context.origins);
  const now = Date.now();
  const base: PublicStatus = regional ?? {
    object: "status",
    generated_at: new Date(now).toISOString(),
    status: "healthy",
    components: [],
    incidents: [],
  };
  const cached = {
    until: now + statusTtlMs,
    status: withComponents(base, originComponents(context.origins, views, regional !== null, now)),
  };
  const response = new Response(JSON.stringify(cached), {
    headers: { "content-type": "application/json", "cache-control": `max-age=${Math.ceil(statusTtlMs / 1000)}` },
  });
  count("breakwater_edge_cache_api_calls_total", { operation: "put", use: "status" });
  context.waitUntil(caches.default.put(cacheBase + encodeURIComponent(key), response).catch(() => undefined));
  return cached;
}
