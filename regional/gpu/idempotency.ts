import { createHash } from "node:crypto";
import { canonicalJson } from "../../shared/canonical-json.ts";
import { GatewayError } from "../../shared/error.ts";
import type { Db, TransactionSql } from "../db/index.ts";

/** A stored answer, replayed to every request that repeats the key. */
export interface StoredResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export type KeyState = { state: "claimed" } | { state: "completed"; response: StoredResponse } | { state: "in_progress" };

interface KeyRow {
  request_hash: string;
  state: "in_progress" | "completed";
  response_status: number | null;
  response_body: unknown;
  response_headers: Record<string, string> | null;
}

/** What makes two requests "the same": method, path and the body as canonical JSON. */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash("sha256")
    .update(`${method} ${path}\n${canonicalJson(body)}`)
    .digest("hex");
}

/** `Idempotency-Key` as the IETF draft and Stripe take it: 1–255 visible ASCII characters. */
export function parseIdempotencyKey(header: string | undefined): string {
  if (header === undefined || header.trim() === "")
    throw new GatewayError("invalid_request", {
      message: "The Idempotency-Key header is required: send a unique value (e.g. a UUID) per new instance.",
      param: "Idempotency-Key",
    });
  const key = header.trim();
  if (!/^[\x21-\x7e]{1,255}$/.test(key))
    throw new GatewayError("invalid_request", {
      message: "Idempotency-Key must be 1 to 255 visible ASCII characters.",
      param: "Idempotency-Key",
    });
  return key;
}

/**
 * Claims `key` for this request under the table's primary key: of concurrent duplicates,
 * exactly one insert wins (the others wait on its row lock, then see it). An expired key
 * is taken over. The claim and what `onClaim` writes commit together, in `tx`.
 */
export async function claimKey(
  tx: TransactionSql,
  tenantId: string,
  key: string,
  hash: string,
  resourceId: string,
  ttlMs: number,
): Promise<KeyState> {
  const claimed = await tx`
    insert into idempotency_keys (tenant_id, key, request_hash, state, resource_id, expires_at)
    values (${tenantId}, ${key}, ${hash}, 'in_progress', ${resourceId}, now() + ${ttlMs} * interval '1 millisecond')
    on conflict (tenant_id, key) do update set
      request_hash = excluded.request_hash, state = 'in_progress', resource_id = excluded.resource_id,
      response_status = null, response_body = null, response_headers = null, created_at = now(), expires_at = excluded.expires_at
    where idempotency_keys.expires_at < now()
    returning key`;
  if (claimed.length > 0) return { state: "claimed" };
  const [row] = await tx<
    KeyRow[]
  >`select request_hash, state, response_status, response_body, response_headers from idempotency_keys where tenant_id = ${tenantId} and key = ${key}`;
  return row ? stateOf(row, hash) : { state: "in_progress" };
}

function stateOf(row: KeyRow, hash: string): KeyState {
  if (row.request_hash !== hash) throw new GatewayError("idempotency_key_reused", { param: "Idempotency-Key" });
  if (row.state === "completed" && row.response_status !== null)
    return { state: "completed", response: { status: row.response_status, body: row.response_body, headers: row.response_headers ?? {} } };
  return { state: "in_progress" };
}

/** Stores the final answer in the caller's transaction, with the change it describes. */
export async function completeKey(tx: TransactionSql, tenantId: string, key: string, response: StoredResponse): Promise<void> {
  await tx`
    update idempotency_keys set state = 'completed', response_status = ${response.status},
      response_body = ${JSON.stringify(response.body)}::text::jsonb, response_headers = ${JSON.stringify(response.headers)}::text::jsonb
    where tenant_id = ${tenantId} and key = ${key}`;
}

/**
 * Settles the key whose request made `resourceId` but never finished (its process died
 * mid-create): with the answer it would have given, or released when nothing was made.
 */
export async function settleKeyOf(
  tx: TransactionSql,
  tenantId: string,
  resourceId: string,
  response: StoredResponse | "release",
): Promise<void> {
  if (response === "release") {
    await tx`delete from idempotency_keys where tenant_id = ${tenantId} and resource_id = ${resourceId} and state = 'in_progress'`;
    return;
  }
  await tx`
    update idempotency_keys set state = 'completed', response_status = ${response.status},
      response_body = ${JSON.stringify(response.body)}::text::jsonb, response_headers = ${JSON.stringify(response.headers)}::text::jsonb
    where tenant_id = ${tenantId} and resource_id = ${resourceId} and state = 'in_progress'`;
}

/** Gives the key up after a failure worth retrying: the next request with it starts afresh. */
export async function releaseKey(tx: TransactionSql, tenantId: string, key: string): Promise<void> {
  await tx`delete from idempotency_keys where tenant_id = ${tenantId} and key = ${key} and state = 'in_progress'`;
}

/**
 * Waits for the request holding the key to finish, reading the primary (the answer is
 * written there by another request, perhaps another process). Resolves with the stored
 * answer, with "released" when the holder gave the key up, or "timeout".
 */
export async function awaitKey(
  db: Db,
  tenantId: string,
  key: string,
  hash: string,
  options: { waitMs: number; pollMs: number; now?: () => number; sleep?: (ms: number) => Promise<void> },
): Promise<StoredResponse | "released" | "timeout"> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + options.waitMs;
  for (;;) {
    const [row] = await db.write<
      KeyRow[]
    >`select request_hash, state, response_status, response_body, response_headers from idempotency_keys where tenant_id = ${tenantId} and key = ${key}`;
    if (!row) return "released";
    const state = stateOf(row, hash);
    if (state.state === "completed") return state.response;
    if (now() >= deadline) return "timeout";
    await sleep(options.pollMs);
  }
}
