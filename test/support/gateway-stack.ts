import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { identityHeaders, sha256Hex, sign, signatureHeader, timestampHeader } from "../../shared/signing.ts";
import { startFaultUpstream, type FaultUpstream } from "./fault-upstream/client.ts";
import { edgeSigningSecret, startEdge, startRegional, type RunningProcess } from "./processes.ts";

/** The providers the stack's fault upstream serves. */
export const stackProviders = ["primary", "secondary"] as const;

/** The route every stack serves and its fallback chain, for the routes file the caller writes. */
export const chatRoute = "chat";
export const chatTargets = [
  { provider: "primary", model: "model-a" },
  { provider: "primary", model: "model-b" },
  { provider: "secondary", model: "model-a" },
] as const;

export interface GatewayStackOptions {
  /**
   * The routes file's JSON, given the running fault upstream (its ports are known only then).
   * Its format is being changed to define named providers, so the caller writes it; it must
   * (1) define the providers `primary` and `secondary` as OpenAI-wire providers whose base URLs
   * are `upstream.baseUrl("primary")` and `upstream.baseUrl("secondary")` (any API key: the
   * upstream checks none) serving `model-a` and `model-b`, and (2) define the route `chat`
   * with `targets: chatTargets` (primary/model-a → primary/model-b → secondary/model-a). In
   * the format as it stood when this was written:
   *
   * ```ts
   * routes: (upstream) => ({
   *   providers: Object.fromEntries(stackProviders.map((name) => [name, { type: "openai", baseUrl: upstream.baseUrl(name), apiKey: "env:FAULT_UPSTREAM_KEY", models: ["model-a", "model-b"] }])),
   *   routes: { [chatRoute]: { targets: chatTargets } },
   * }),
   * regionalEnv: () => ({ FAULT_UPSTREAM_KEY: "sk-fault" }),
   * ```
   */
  routes(upstream: FaultUpstream): unknown;
  /** More regional environment (a `DATABASE_URL`, secrets the routes file refers to); unset, embedded PGlite. */
  regionalEnv?: (upstream: FaultUpstream) => Record<string, string>;
  /** Starts `wrangler dev` in front of regional (with these vars over wrangler.toml's); slow, so off by default. */
  edge?: boolean | Record<string, string>;
  /** The dev tenant's key (`bw_` + 16 or more characters). */
  devKey?: string;
}

export interface GatewayStack {
  upstream: FaultUpstream;
  regional: RunningProcess;
  edge: RunningProcess | undefined;
  devKey: string;
  /** Where clients call, up to `/v1`: the edge when started, else regional (which takes only signed calls: use `fetch`). */
  baseUrl: string;
  /**
   * `fetch` as a client of the stack with the dev key: through the edge, or straight to
   * regional signed as the edge signs (string bodies only). `input` may be a path; it fits
   * the OpenAI SDK's `fetch` option.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The gateway's real processes against the fault upstream: the upstream (providers
 * `primary` and `secondary`), regional with a routes file in a temp dir, and optionally
 * the edge. Limits of the dev key are lifted, since fault tests send many requests.
 */
export async function startGatewayStack(options: GatewayStackOptions): Promise<GatewayStack> {
  const devKey = options.devKey ?? "bw_faultStackKey0123456789abcdef";
  const stops: (() => Promise<unknown>)[] = [];
  const close = async () => {
    await Promise.allSettled(stops.reverse().map(async (stop) => await stop()));
  };
  try {
    const upstream = await startFaultUpstream([...stackProviders]);
    stops.push(() => upstream.close());
    const dir = await mkdtemp(join(tmpdir(), "bw-stack-"));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const routesFile = join(dir, "routes.json");
    await writeFile(routesFile, JSON.stringify(options.routes(upstream), null, 2));

    const regional = await startRegional({
      BREAKWATER_DEV_KEY: devKey,
      BREAKWATER_DEV_RPM: "1000000",
      BREAKWATER_DEV_TPM: "1000000000",
      ROUTES_FILE: routesFile,
      ...options.regionalEnv?.(upstream),
    });
    stops.push(() => regional.stop());

    let edge: RunningProcess | undefined;
    if (options.edge) {
      const started = await startEdge({ REGIONAL_ORIGIN: regional.url, ...(options.edge === true ? {} : options.edge) });
      edge = started;
      stops.push(() => started.stop());
    }

    const base = edge?.url ?? regional.url;
    const call = edge ? bearerFetch(edge.url, devKey) : signedFetch(regional.url, await identityOf(regional.url, devKey));
    return { upstream, regional, edge, devKey, baseUrl: `${base}/v1`, fetch: call, close };
  } catch (error) {
    await close();
    throw error;
  }
}

type Fetch = GatewayStack["fetch"];

function urlOf(base: string, input: string | URL | Request): URL {
  // A Request's own method, headers and body would be dropped here; the SDKs pass a URL and init.
  if (input instanceof Request) throw new Error("the stack's fetch takes a URL or path and an init, not a Request");
  return new URL(input, base);
}

function bearerFetch(base: string, devKey: string): Fetch {
  return async (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${devKey}`);
    return await fetch(urlOf(base, input), { ...init, headers });
  };
}

/** The `x-breakwater-*` identity the edge vouches for when it forwards a call with this key. */
async function identityOf(regionalUrl: string, devKey: string): Promise<Record<string, string>> {
  const keyHash = createHash("sha256").update(devKey).digest("hex");
  const response = await signedFetch(regionalUrl, {})(`/internal/keys/${keyHash}`);
  if (!response.ok) throw new Error(`regional has no record of the dev key: ${response.status} ${await response.text()}`);
  const record = (await response.json()) as { key_id: string; tenant_id: string; prefix: string };
  return {
    [identityHeaders.keyId]: record.key_id,
    [identityHeaders.tenantId]: record.tenant_id,
    [identityHeaders.keyPrefix]: record.prefix,
  };
}

/** Calls regional as the edge does: without the client's credentials, signed with the shared secret. */
function signedFetch(base: string, vouched: Record<string, string>): Fetch {
  return async (input, init = {}) => {
    const url = urlOf(base, input);
    const given = init.body ?? undefined;
    if (given !== undefined && typeof given !== "string") throw new Error("the stack signs string bodies only");
    const body = given ?? "";
    const method = init.method ?? "GET";
    const timestampS = Math.floor(Date.now() / 1000);
    const pathAndQuery = `${url.pathname}${url.search}`;
    const signature = await sign(edgeSigningSecret, {
      method,
      pathAndQuery,
      timestampS,
      bodySha256: await sha256Hex(body),
      headers: vouched,
    });
    const headers = new Headers(init.headers);
    headers.delete("authorization");
    for (const [name, value] of Object.entries({ ...vouched, [timestampHeader]: String(timestampS), [signatureHeader]: signature }))
      headers.set(name, value);
    return await fetch(url, { ...init, method, headers, ...(given !== undefined && { body: given }) });
  };
}
