import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkpointSecret } from "../../regional/audit/checkpoint-secret.ts";
import { journalPath } from "../../regional/audit/journal.ts";
import { verifyChain } from "../../regional/audit/verify.ts";
import { startPostgres, type PostgresCluster } from "../infra/postgres.ts";
import { waitUntil } from "../infra/wait-until.ts";
import { startRegional, type RunningProcess } from "../support/processes.ts";

/*
 * The promise of the audit log, tested the hard way: an admin action is answered only once
 * its event is durable, so every event id a client was ever handed must be in the log exactly
 * once after the regional process is killed with SIGKILL under load and Postgres is shut
 * down immediately (a crash, WAL recovery on restart), in both orders, and also with
 * Postgres coming back while the process still runs. Each run ends with a restart of both,
 * and the restarted process is the next run's victim. And an admin change and its event are
 * durable together: wherever the crash fell, every tenant and key created or revoked has its
 * event, and every such event its change — answered or not.
 */

/** 20 in `npm test`; AUDIT_CRASH_RUNS=100 for a longer soak. */
const runs = Number(process.env.AUDIT_CRASH_RUNS ?? 20);
const region = "crash";
const adminKey = "crash-test-admin-key-0123456789abcdef";
const secretText = "crash-test-checkpoint-secret-0123456789";

type Mode = "postgres-first" | "process-first" | "postgres-returns";
const modes: Mode[] = ["postgres-first", "process-first", "postgres-returns"];

let cluster: PostgresCluster;
let sql: postgres.Sql;
let dataDir: string;
let regional: RunningProcess | undefined;

async function startService(): Promise<RunningProcess> {
  return await startRegional({
    DATABASE_URL: cluster.primaryUrl,
    DATA_DIR: dataDir,
    REGION: region,
    ADMIN_API_KEY: adminKey,
    AUDIT_CHECKPOINT_SECRET: secretText,
    AUDIT_FLUSH_INTERVAL_MS: "50",
    AUDIT_CHECKPOINT_INTERVAL_MS: "300",
    LOG_LEVEL: "warn",
  });
}

/**
 * Admin calls in a loop; every audit id a response carried is acknowledged. Some clients make
 * changes and reads (which wait on Postgres, up to its connect timeout when it is down);
 * others send invalid requests, which are refused without Postgres but audited all the same,
 * so acknowledgements keep coming while Postgres is away.
 */
function drive(url: string, acked: string[], keyTenant: string): { stop(): Promise<void> } {
  let stopping = false;
  let sequence = 0;
  const headers = { authorization: `Bearer ${adminKey}`, "content-type": "application/json" };
  // Creates a key, then revokes it: two changes, each with its event.
  const keyLifecycle = async () => {
    while (!stopping) {
      try {
        const created = await fetch(`${url}/admin/tenants/${keyTenant}/keys`, {
          method: "POST",
          headers,
          body: "{}",
          signal: AbortSignal.timeout(20_000),
        });
        const body = (await created.json()) as { id?: string };
        const id = created.headers.get("x-breakwater-audit-id");
        if (id) acked.push(id);
        if (created.status !== 201 || !body.id) continue;
        const revoked = await fetch(`${url}/admin/keys/${body.id}/revoke`, {
          method: "POST",
          headers,
          signal: AbortSignal.timeout(20_000),
        });
        await revoked.arrayBuffer();
        const revokeId = revoked.headers.get("x-breakwater-audit-id");
        if (revokeId) acked.push(revokeId);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  };
  const requests = [
    () => ({ path: "/admin/tenants", init: { method: "POST", body: JSON.stringify({ name: `crash-${sequence++}` }) } }),
    () => ({ path: "/admin/tenants?limit=1", init: { method: "GET" } }),
    () => ({ path: "/admin/tenants", init: { method: "POST", body: JSON.stringify({ name: "" }) } }),
  ];
  const worker = async (next: () => { path: string; init: RequestInit }) => {
    while (!stopping) {
      const { path, init } = next();
      try {
        const response = await fetch(`${url}${path}`, { ...init, headers, signal: AbortSignal.timeout(20_000) });
        await response.arrayBuffer();
        const id = response.headers.get("x-breakwater-audit-id");
        if (id) acked.push(id);
      } catch {
        // The process is gone (killed) or going: nothing was acknowledged by this call.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  };
  const running = [
    ...[requests[0], requests[0], requests[1], requests[2], requests[2]].map((next) => worker(next!)),
    keyLifecycle(),
    keyLifecycle(),
  ];
  return {
    async stop() {
      stopping = true;
      await Promise.all(running);
    },
  };
}

async function moreAcks(acked: string[], count: number, what: string, victim: RunningProcess): Promise<void> {
  const target = acked.length + count;
  try {
    await waitUntil(what, async () => acked.length >= target, { timeoutMs: 20_000, intervalMs: 5 });
  } catch (error) {
    const state = victim.child.exitCode ?? victim.child.signalCode ?? "running";
    throw new Error(`${(error as Error).message} (process: ${state}; ${acked.length} acknowledged)\n${victim.output().slice(-3_000)}`);
  }
}

/**
 * Changes without their event and events without their change, over everything the drivers
 * did: tenants created, keys created, keys revoked. Empty when every change and its event
 * were made durable together.
 */
async function unmatchedChanges(keyTenant: string): Promise<{ kind: string; id: string }[]> {
  return await sql<{ kind: string; id: string }[]>`
    with events as (select action, resource from audit_log where region = ${region} and result = 'success')
    select 'tenant without tenant.create' as kind, t.id::text as id from tenants t
      where t.name like 'crash-%' and not exists (select 1 from events e where e.action = 'tenant.create' and e.resource = 'tenant:' || t.id::text)
    union all
    select 'tenant.create without tenant', e.resource from events e
      where e.action = 'tenant.create' and not exists (select 1 from tenants t where e.resource = 'tenant:' || t.id::text)
    union all
    select 'key without key.create', k.id::text from api_keys k
      where k.tenant_id = ${keyTenant} and not exists (select 1 from events e where e.action = 'key.create' and e.resource = 'api_key:' || k.id::text)
    union all
    select 'key.create without key', e.resource from events e
      where e.action = 'key.create' and not exists (select 1 from api_keys k where e.resource = 'api_key:' || k.id::text)
    union all
    select 'revoked key without key.revoke', k.id::text from api_keys k
      where k.tenant_id = ${keyTenant} and k.status = 'revoked' and not exists (select 1 from events e where e.action = 'key.revoke' and e.resource = 'api_key:' || k.id::text)
    union all
    select 'key.revoke without revoked key', e.resource from events e
      where e.action = 'key.revoke' and not exists (select 1 from api_keys k where e.resource = 'api_key:' || k.id::text and k.status = 'revoked')`;
}

beforeAll(async () => {
  cluster = await startPostgres();
  // Only the primary matters here; a stopped replica keeps restarts quick.
  await cluster.stopReplica("immediate");
  sql = postgres(cluster.primaryUrl, { max: 2, onnotice: () => {} });
  dataDir = await mkdtemp(join(tmpdir(), "bw-audit-crash-"));
}, 120_000);

afterAll(async () => {
  await regional?.stop("SIGKILL");
  await sql?.end({ timeout: 1 });
  await cluster?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("audit events under crashes", () => {
  it(`loses and duplicates no acknowledged event over ${runs} runs of kill -9 and an immediate Postgres shutdown`, async () => {
    const started = Date.now();
    const secret = checkpointSecret(secretText, false).key;
    const allAcked: string[] = [];
    let whilePostgresDown = 0;
    let replayedLive = 0;
    const journal = journalPath(join(dataDir, "audit"), region);
    regional = await startService();
    const keyTenantResponse = await fetch(`${regional.url}/admin/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "crash-keys" }),
    });
    const keyTenant = ((await keyTenantResponse.json()) as { id: string }).id;
    let changesChecked = 0;

    for (let run = 0; run < runs; run++) {
      const mode = modes[run % modes.length] as Mode;
      const victim: RunningProcess = regional;
      const acked: string[] = [];
      const load = drive(victim.url, acked, keyTenant);
      await moreAcks(acked, 10, `run ${run}: acknowledged admin actions`, victim);

      if (mode === "process-first") {
        await victim.stop("SIGKILL");
        await cluster.stopPrimary("immediate");
      } else {
        await cluster.stopPrimary("immediate");
        const before = acked.length;
        await moreAcks(acked, 5, `run ${run}: actions acknowledged from the journal while Postgres is down`, victim);
        whilePostgresDown += acked.length - before;
        if (mode === "postgres-returns") {
          // The live process must drain its journal into Postgres once it answers again.
          await cluster.startPrimary();
          await waitUntil(`run ${run}: the live process to replay its journal`, async () => (await stat(journal)).size === 0, {
            timeoutMs: 20_000,
            intervalMs: 20,
          });
          replayedLive++;
          await moreAcks(acked, 5, `run ${run}: actions acknowledged after Postgres returned`, victim);
          await victim.stop("SIGKILL");
          await cluster.stopPrimary("immediate");
        } else {
          await victim.stop("SIGKILL");
        }
      }
      await load.stop();
      allAcked.push(...acked);

      await cluster.startPrimary();
      regional = await startService();

      // Ready means the journal left behind was replayed at start.
      const rows = await sql<{ event_id: string; copies: number }[]>`
        select event_id::text, count(*)::int as copies from audit_log where event_id = any(${allAcked}::uuid[]) group by event_id`;
      const copies = new Map(rows.map((row) => [row.event_id, row.copies]));
      const lost = allAcked.filter((id) => !copies.has(id));
      const duplicated = rows.filter((row) => row.copies !== 1);
      expect({ run, mode, lost, duplicated }).toEqual({ run, mode, lost: [], duplicated: [] });
      expect(new Set(allAcked).size).toBe(allAcked.length);
      expect(await readFile(journal, "utf8")).toBe("");
      const verified = await verifyChain(sql, region, secret);
      expect(verified.broken).toBeUndefined();
      expect({ run, mode, unmatched: await unmatchedChanges(keyTenant) }).toEqual({ run, mode, unmatched: [] });
      const [changes] = await sql<{ n: number }[]>`select count(*)::int as n from api_keys where tenant_id = ${keyTenant}`;
      changesChecked = changes?.n ?? 0;
    }

    const response = await fetch(`${regional.url}/admin/audit/verify`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(await response.json()).toMatchObject({ ok: true, region });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    expect(whilePostgresDown).toBeGreaterThan(0);
    expect(changesChecked).toBeGreaterThan(0);
    process.stdout.write(
      `audit crash test: ${runs} runs, ${allAcked.length} acknowledged events (${whilePostgresDown} while Postgres was down, ${replayedLive} journals replayed by the live process), 0 lost, 0 duplicated, ${changesChecked} keys each with its events, ${seconds} s\n`,
    );
  }, 300_000);
});
