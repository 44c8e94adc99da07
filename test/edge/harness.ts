/** How the edge tests reach the Worker under test and steer the fake origin. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { inject } from "vitest";
import type { ErrorBody } from "../../shared/contract/errors.ts";
import type { Budget } from "../../shared/contract/budgets.ts";
import type { KeyRecord, RateLimits } from "../../shared/contract/keys.ts";
import { sha256Hex } from "../../shared/signing.ts";
import worker from "../../edge/index.ts";
import type { Env } from "../../edge/env.ts";
import "./provided-context.ts";

const edgeUrl = "http://edge.test";

/** What `/health/detailed` and `/metrics` take: METRICS_API_KEY of the Worker under test. */
export const opsHeaders = { authorization: `Bearer ${env.METRICS_API_KEY ?? ""}` };

/** A key the fake origin knows, with limits no test reaches. */
export const defaultApiKey = inject("defaultApiKey");

/**
 * Calls the Worker the way a client does, through workerd. Sends `key` (the default key
 * unless told otherwise; null for none) as a bearer token, unless `init` has credentials.
 */
export async function edgeFetch(path: string, init?: RequestInit, key: string | null = defaultApiKey): Promise<Response> {
  return await exports.default.fetch(`${edgeUrl}${path}`, withKey(init, key));
}

/**
 * Calls the Worker's handler with some bindings changed, e.g. a short origin timeout.
 * Resolves once the response is there; `settled` also waits for its `waitUntil` work (token
 * accounting waits for the body to be read to its end).
 */
export async function edgeFetchWith(
  bindings: Partial<Env>,
  path: string,
  init?: RequestInit,
  key: string | null = defaultApiKey,
): Promise<Response & { settled: () => Promise<void> }> {
  const ctx = createExecutionContext();
  // A request as the runtime hands it to the Worker; `cf` stays empty in tests.
  const request = new Request(`${edgeUrl}${path}`, withKey(init, key)) as Request<unknown, IncomingRequestCfProperties>;
  const response = await worker.fetch(request, { ...env, ...bindings }, ctx);
  return Object.assign(response, { settled: () => waitOnExecutionContext(ctx) });
}

function withKey<T extends RequestInit>(init: T | undefined, key: string | null): T {
  const headers = new Headers(init?.headers);
  if (key !== null && !headers.has("authorization") && !headers.has("x-api-key")) headers.set("authorization", `Bearer ${key}`);
  return { ...init, headers } as T;
}

export interface TestKeyOptions {
  limits?: Partial<RateLimits>;
  tenantLimits?: Partial<RateLimits>;
  tenantId?: string;
  status?: KeyRecord["status"];
  /** The key's and its tenant's spend budgets, as regional hands them out. */
  budgets?: Budget[];
}

/** A new key the fake origin's key lookup knows, with the given limits (generous otherwise). */
export async function createKey(options: TestKeyOptions = {}): Promise<{ key: string; sha256: string; record: KeyRecord }> {
  const key = `bw_${randomText(32)}`;
  const sha256 = await sha256Hex(key);
  const generous = { rpm: 1_000_000, tpm: 100_000_000 };
  const record: KeyRecord = {
    key_id: crypto.randomUUID(),
    tenant_id: options.tenantId ?? crypto.randomUUID(),
    prefix: key.slice(0, 11),
    status: options.status ?? "active",
    limits: { ...generous, ...options.limits },
    tenant_limits: { ...generous, ...options.tenantLimits },
    budgets: options.budgets ?? [],
  };
  await fakeOrigin.setKey(sha256, record);
  return { key, sha256, record };
}

/** A random client address, so tests of failed-authentication limits do not share one. */
export function randomIp(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(2));
  return `10.${bytes[0]}.${bytes[1]}.${1 + (bytes[0]! % 250)}`;
}

function randomText(length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(crypto.getRandomValues(new Uint8Array(length)), (byte) => alphabet[byte % alphabet.length]).join("");
}

/** The fake origin's controls (see fake-origin.ts); `id` names one held request. */
export const fakeOrigin = {
  /** Resolves once the request with this id reached the origin. */
  async arrived(id: string): Promise<void> {
    const res = await fetch(`${env.REGIONAL_ORIGIN}/__control/arrived/${id}`);
    await res.body?.cancel();
  },
  /** Resolves once the origin saw the connection of the request with this id close. */
  async closed(id: string): Promise<void> {
    const res = await fetch(`${env.REGIONAL_ORIGIN}/__control/closed/${id}`);
    await res.body?.cancel();
  },
  /** Lets the held request go on; says whether its response was still unfinished. */
  async release(id: string): Promise<{ open: boolean }> {
    const res = await fetch(`${env.REGIONAL_ORIGIN}/__control/release/${id}`, { method: "POST" });
    return await res.json<{ open: boolean }>();
  },
  /** Registers, replaces (e.g. revokes) or with null forgets a key record at the origin. */
  async setKey(sha256: string, record: KeyRecord | null): Promise<void> {
    const res = await fetch(`${env.REGIONAL_ORIGIN}/__control/keys`, { method: "POST", body: JSON.stringify({ sha256, record }) });
    await res.body?.cancel();
  },
  /** How many requests carrying `x-test-calls: <name>` reached the origin. */
  async calls(name: string): Promise<number> {
    const res = await fetch(`${env.REGIONAL_ORIGIN}/__control/calls/${name}`);
    return (await res.json<{ calls: number }>()).calls;
  },
  /** What the edge posted to `/internal/incidents`, and how often it read `/internal/status`. */
  async incidents(): Promise<{ incidents: Array<Record<string, unknown>>; status_reads: number }> {
    const res = await fetch(`${env.REGIONAL_ORIGIN}/__control/incidents`);
    return await res.json();
  },
  /** How often the edge read the price sheet at the origin. */
  async priceReads(): Promise<number> {
    const res = await fetch(`${env.REGIONAL_ORIGIN}/__control/price-reads`);
    return (await res.json<{ reads: number }>()).reads;
  },
  /** Makes the origin's price sheet answer 503 (true) or its prices again (false). */
  async failPriceReads(fail: boolean): Promise<void> {
    const res = await fetch(`${env.REGIONAL_ORIGIN}/__control/prices-fail`, { method: "POST", body: JSON.stringify({ fail }) });
    await res.body?.cancel();
  },
  /** How often the edge looked up the key with this hash at the origin. */
  async lookups(sha256: string): Promise<number> {
    const res = await fetch(`${env.REGIONAL_ORIGIN}/__control/lookups/${sha256}`);
    return (await res.json<{ lookups: number }>()).lookups;
  },
};

/**
 * The sum of every series in the edge's `/metrics` whose line starts with `prefix` (a name, or
 * a name and its first labels): the whole edge's count, aggregated, plus this isolate's unsent.
 */
export async function metricSum(prefix: string): Promise<number> {
  const res = await edgeFetch("/metrics", { headers: opsHeaders }, null);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return (await res.text())
    .split("\n")
    .filter((line) => line.startsWith(prefix))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

/** Reads what is left of a text stream, to its end. */
export async function readToEnd(reader: ReadableStreamDefaultReader<string>): Promise<string> {
  let text = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
  return text;
}

/** The body of an error response, typed as the error shape (not checked). */
export async function errorBody(res: Response): Promise<ErrorBody> {
  return await res.json<ErrorBody>();
}
