import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { AuditInput } from "../regional/audit/event.ts";
import { openJournal } from "../regional/audit/journal.ts";
import { verifyChain } from "../regional/audit/verify.ts";
import { createAuditWriter, type AuditLog } from "../regional/audit/writer.ts";
import { openDb } from "../regional/db/index.ts";
import { migrate } from "../regional/db/migrate.ts";
import { createLogger } from "../regional/logger.ts";
import { startPostgres } from "../test/infra/postgres.ts";
import { microsecondsPerOpSync, type MicroResult } from "./micro.ts";

export interface AuditBenchOptions {
  /** Appends timed for the request-path figure. */
  appendIterations?: number;
  /** Events pushed through to Postgres for the throughput figure. */
  events?: number;
}

const secret = Buffer.alloc(32, 1);

/** What an audited auth failure looks like: the common event under attack. */
function event(index: number): AuditInput {
  return {
    actorType: "key",
    actorId: "bw_AbCdEfGh",
    action: "auth.failure",
    result: "denied",
    resource: "POST /v1/chat/completions",
    ip: "203.0.113.7",
    userAgent: "openai-node/6.49.0",
    requestId: `bench-${index}`,
    metadata: { reason: "invalid_key", suppressed_before: index % 7 },
  };
}

/** Yields to the event loop so the writer's flushes run between producer bursts, as they would between requests. */
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

/**
 * The audit log's two performance aims, against a real Postgres 15 started for the bench:
 * the cost of `append` on the request path (aim ≤ 5 µs) and sustained events per second
 * committed into the hash chain with the default batching (aim ≥ 20,000), plus how fast
 * the verifier walks the result.
 */
export async function auditFigures(options: AuditBenchOptions = {}): Promise<MicroResult[]> {
  const appendIterations = options.appendIterations ?? 200_000;
  const events = options.events ?? 200_000;
  const cluster = await startPostgres({ database: "audit_bench" });
  const journalDir = await mkdtemp(join(tmpdir(), "bw-audit-bench-"));
  const db = await openDb({ databaseUrl: cluster.primaryUrl, dataDir: "", poolSize: 4 });
  const writers: AuditLog[] = [];
  try {
    await cluster.stopReplica("immediate");
    await migrate(db.write);
    const logger = createLogger("silent");
    const writer = async (region: string, flushEvents: number, flushIntervalMs: number) => {
      const journal = await openJournal(journalDir, region, logger);
      const audit = createAuditWriter({
        sql: db.write,
        region,
        journal,
        logger,
        checkpointSecret: secret,
        flushEvents,
        flushIntervalMs,
        checkpointIntervalMs: 1_000,
      });
      writers.push(audit);
      return audit;
    };

    // Request path: the append alone, with nothing flushing in between.
    const quiet = await writer("bench-append", Number.MAX_SAFE_INTEGER, 3_600_000);
    const inputs = Array.from({ length: 1_024 }, (_, index) => event(index));
    let next = 0;
    const appendUs = microsecondsPerOpSync(appendIterations, () => quiet.append(inputs[next++ & 1_023]!));

    // Throughput: a producer appending as fast as it can in bursts, the writer at its defaults.
    const audit = await writer("bench-throughput", 100, 1_000);
    const started = performance.now();
    for (let index = 0; index < events; index++) {
      audit.append(inputs[index & 1_023]!);
      if (index % 500 === 499) await yieldToLoop();
    }
    await audit.flush();
    const seconds = (performance.now() - started) / 1_000;
    const [stored] = await db.write<{ n: number }[]>`select count(*)::int as n from audit_log where region = 'bench-throughput'`;
    if (stored?.n !== events) throw new Error(`audit bench: ${stored?.n ?? 0} of ${events} events stored`);

    const verifyStarted = performance.now();
    const verified = await verifyChain(db.write, "bench-throughput", secret);
    const verifySeconds = (performance.now() - verifyStarted) / 1_000;
    if (!verified.ok) throw new Error(`audit bench: the chain does not verify: ${verified.broken?.reason ?? ""}`);

    return [
      { id: "audit append (request path)", value: appendUs, unit: "µs/op", aim: { op: "≤", value: 5 } },
      { id: "audit events into Postgres, sustained", value: events / seconds, unit: "events/s", aim: { op: "≥", value: 20_000 } },
      { id: "audit chain verification", value: events / verifySeconds, unit: "events/s" },
    ];
  } finally {
    for (const audit of writers) await audit.close().catch(() => {});
    await db.close(1);
    await cluster.stop();
    await rm(journalDir, { recursive: true, force: true });
  }
}

// `tsx bench/audit.ts` prints the figures on their own.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatMicro } = await import("./micro.ts");
  process.stdout.write(`${formatMicro(await auditFigures())}\n`);
}
