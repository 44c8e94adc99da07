import { execFile } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { appendFile, chown, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { freePort, freePorts } from "./free-port.ts";
import { logTail } from "./log-tail.ts";
import { killRecorded, markOwner, sweepStaleDirs } from "./stale-dirs.ts";
import { waitUntil, type WaitOptions } from "./wait-until.ts";

const execFileAsync = promisify(execFile);

/** How `pg_ctl stop` ends a node: `fast` is a clean shutdown, `immediate` is a crash (recovery on next start). */
export type StopMode = "fast" | "immediate";

export interface PostgresOptions {
  /** Database created on the primary before the replica is cloned, so both have it. Default `breakwater`. */
  database?: string;
  /** Extra postgresql.conf settings for both nodes. */
  settings?: Record<string, string | number | boolean>;
}

/** A throwaway PostgreSQL primary plus one streaming replica, owned by the caller. */
export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:<port>/<database>`: superuser, trust auth, no password. */
  readonly primaryUrl: string;
  readonly replicaUrl: string;
  readonly primaryPort: number;
  readonly replicaPort: number;
  readonly database: string;
  /** Temp dir holding both data dirs, the socket dir and the server logs. */
  readonly dir: string;
  stopPrimary(mode?: StopMode): Promise<void>;
  /** Starts the primary again; waits for the replica to stream again if it is running. */
  startPrimary(): Promise<void>;
  stopReplica(mode?: StopMode): Promise<void>;
  /** Starts the replica again; waits for it to stream again if the primary is running. */
  startReplica(): Promise<void>;
  /** Stops applying WAL on the replica: it keeps receiving, but new rows stay invisible. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Resolves once the replica has replayed everything the primary had written when called. */
  waitForReplay(options?: WaitOptions): Promise<void>;
  logTail(node: "primary" | "replica", lines?: number): Promise<string>;
  /** Kills both nodes and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const DIR_PREFIX = "breakwater-pg-";
const SLOT = "breakwater_replica";
const USER = "postgres";

interface PgNode {
  readonly name: "primary" | "replica";
  readonly data: string;
  readonly log: string;
  port: number;
  running: boolean;
}

interface Context {
  readonly binDir: string;
  readonly dir: string;
  readonly sockets: string;
  /** uid/gid of the `postgres` user when we run as root (Postgres refuses to run as root). */
  readonly owner: { uid: number; gid: number } | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly settings: Record<string, string | number | boolean>;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresCluster> {
  const database = options.database ?? "breakwater";
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`invalid database name: ${database}`);
  const binDir = await findBinDir();
  const owner = process.getuid?.() === 0 ? await postgresUser() : undefined;
  await sweepStaleDirs(DIR_PREFIX, (stale) => killPostmasters([join(stale, "primary"), join(stale, "replica")]));
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  await markOwner(dir);
  const sockets = join(dir, "sockets");
  await mkdir(sockets);
  if (owner) {
    await chown(dir, owner.uid, owner.gid);
    await chown(sockets, owner.uid, owner.gid);
  }
  const ctx: Context = { binDir, dir, sockets, owner, env: cleanEnv(), settings: options.settings ?? {} };
  const [primaryPort = 0, replicaPort = 0] = await freePorts(2);
  const primary: PgNode = { name: "primary", data: join(dir, "primary"), log: join(dir, "primary.log"), port: primaryPort, running: false };
  const replica: PgNode = { name: "replica", data: join(dir, "replica"), log: join(dir, "replica.log"), port: replicaPort, running: false };
  liveClusters.set(dir, [primary.data, replica.data]);
  installExitHook();

  const urlOf = (node: PgNode, db = database): string => `postgres://${USER}@127.0.0.1:${node.port}/${db}`;
  const waitForStreaming = async (): Promise<void> => {
    try {
      await waitUntil("the replica to stream from the primary", async () => {
        return await withSql(urlOf(primary, "postgres"), async (sql) => {
          const rows = await sql`select 1 from pg_stat_replication where application_name = ${SLOT} and state = 'streaming'`;
          return rows.length > 0;
        });
      });
    } catch (error) {
      throw await withLogs(error, [replica, primary]);
    }
  };

  const stop = async (): Promise<void> => {
    if (!liveClusters.has(dir)) return;
    await Promise.allSettled([stopNode(ctx, replica, "immediate"), stopNode(ctx, primary, "immediate")]);
    killPostmasters([primary.data, replica.data]);
    await rm(dir, { recursive: true, force: true });
    liveClusters.delete(dir);
  };

  try {
    await run(ctx, "initdb", [
      "--pgdata", primary.data, "--username", USER, "--auth", "trust",
      "--encoding", "UTF8", "--locale", "C", "--no-sync", "--no-instructions",
    ]);
    await writeOwned(ctx, join(primary.data, "pg_hba.conf"), HBA);
    await appendFile(join(primary.data, "postgresql.conf"), "\ninclude 'breakwater.conf'\n");
    await startNode(ctx, primary, { mayMovePort: true });
    if (database !== "postgres") {
      await withSql(urlOf(primary, "postgres"), async (sql) => {
        await sql`create database ${sql(database)}`;
      });
    }
    // The clone carries the primary's config (incl. the include line); startNode rewrites breakwater.conf.
    await run(ctx, "pg_basebackup", [
      "--pgdata", replica.data, "--host", "127.0.0.1", "--port", String(primary.port), "--username", USER,
      "--write-recovery-conf", "--wal-method", "stream", "--create-slot", "--slot", SLOT,
      "--checkpoint", "fast", "--no-sync",
    ]);
    await startNode(ctx, replica, { mayMovePort: true });
    await waitForStreaming();
  } catch (error) {
    await stop();
    throw error;
  }

  const primaryUrl = urlOf(primary);
  const replicaUrl = urlOf(replica);
  return {
    primaryUrl,
    replicaUrl,
    primaryPort: primary.port,
    replicaPort: replica.port,
    database,
    dir,
    stopPrimary: async (mode = "fast") => await stopNode(ctx, primary, mode),
    startPrimary: async () => {
      await startNode(ctx, primary, { mayMovePort: false });
      if (replica.running) await waitForStreaming();
    },
    stopReplica: async (mode = "fast") => await stopNode(ctx, replica, mode),
    startReplica: async () => {
      await startNode(ctx, replica, { mayMovePort: false });
      if (primary.running) await waitForStreaming();
    },
    pauseReplay: async () => await pauseReplay(replicaUrl),
    resumeReplay: async () => await resumeReplay(replicaUrl),
    waitForReplay: async (opts) => await waitForReplay(primaryUrl, replicaUrl, opts),
    logTail: async (node, lines) => await logTail(node === "primary" ? primary.log : replica.log, lines),
    stop,
  };
}

// --- SQL helpers that need only URLs, so test files can use what globalSetup provided ---

/** Pauses WAL replay on a replica. Records already replayed stay visible; later ones wait. */
export async function pauseReplay(replicaUrl: string): Promise<void> {
  await withSql(replicaUrl, async (sql) => {
    await sql`select pg_wal_replay_pause()`;
    // 'pause requested' until the startup process notices; wait so callers start from a paused replica.
    await waitUntil("replay to pause", async () => {
      const [row] = await sql<{ state: string }[]>`select pg_get_wal_replay_pause_state() as state`;
      return row?.state === "paused";
    });
  });
}

export async function resumeReplay(replicaUrl: string): Promise<void> {
  await withSql(replicaUrl, async (sql) => {
    await sql`select pg_wal_replay_resume()`;
  });
}

/** Resolves once the replica has replayed the primary's WAL up to the moment of the call. */
export async function waitForReplay(primaryUrl: string, replicaUrl: string, options?: WaitOptions): Promise<void> {
  const lsn = await withSql(primaryUrl, async (sql) => {
    const [row] = await sql<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
    return row?.lsn ?? "0/0";
  });
  await waitUntil(
    `the replica to replay up to ${lsn}`,
    async () =>
      await withSql(replicaUrl, async (sql) => {
        const [row] = await sql<{ done: boolean }[]>`select pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn as done`;
        return row?.done === true;
      }),
    options,
  );
}

/**
 * Creates a fresh database on the primary (so a test file can own its schema) and waits
 * until the replica has it too. Returns URLs for it on both nodes.
 */
export async function createDatabase(
  urls: { primaryUrl: string; replicaUrl: string },
  name: string,
): Promise<{ primaryUrl: string; replicaUrl: string }> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid database name: ${name}`);
  await withSql(urls.primaryUrl, async (sql) => {
    await sql`create database ${sql(name)}`;
  });
  await waitForReplay(urls.primaryUrl, urls.replicaUrl);
  return { primaryUrl: withDatabase(urls.primaryUrl, name), replicaUrl: withDatabase(urls.replicaUrl, name) };
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function withSql<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5, fetch_types: false });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

// --- nodes ---

const HBA = [
  "local all all trust",
  "local replication all trust",
  "host all all 127.0.0.1/32 trust",
  "host replication all 127.0.0.1/32 trust",
  "",
].join("\n");

function configFor(ctx: Context, node: PgNode): string {
  const settings: Record<string, string | number | boolean> = {
    listen_addresses: "127.0.0.1",
    port: node.port,
    unix_socket_directories: ctx.sockets,
    max_connections: 300,
    wal_level: "replica",
    max_wal_senders: 10,
    max_replication_slots: 10,
    hot_standby: true,
    // Replicas report progress often and reconnect quickly after the primary restarts.
    hot_standby_feedback: true,
    wal_receiver_status_interval: "1s",
    wal_retrieve_retry_interval: "200ms",
    // Also the replica's application_name in pg_stat_replication.
    cluster_name: node.name === "replica" ? SLOT : "breakwater_primary",
    lc_messages: "C",
    log_line_prefix: "%m [%p] %q%a@%d ",
    ...ctx.settings,
  };
  const lines = Object.entries(settings).map(([key, value]) => `${key} = ${confValue(value)}`);
  return `# Written by test/infra/postgres.ts\n${lines.join("\n")}\n`;
}

function confValue(value: string | number | boolean): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return value ? "on" : "off";
  return `'${value.replaceAll("'", "''")}'`;
}

async function startNode(ctx: Context, node: PgNode, { mayMovePort }: { mayMovePort: boolean }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await writeOwned(ctx, join(node.data, "breakwater.conf"), configFor(ctx, node));
    try {
      await run(ctx, "pg_ctl", ["start", "--pgdata", node.data, "--log", node.log, "--wait", "--timeout", "60", "--silent"]);
      node.running = true;
      return;
    } catch (error) {
      const tail = await logTail(node.log, 5);
      // Someone took the port between freePorts() and the bind: pick another one.
      if (mayMovePort && attempt < 3 && /could not bind|already in use/i.test(tail)) {
        node.port = await freePort();
        continue;
      }
      throw await withLogs(error, [node]);
    }
  }
}

async function stopNode(ctx: Context, node: PgNode, mode: StopMode): Promise<void> {
  if (!existsSync(join(node.data, "postmaster.pid"))) {
    node.running = false;
    return;
  }
  try {
    await run(ctx, "pg_ctl", ["stop", "--pgdata", node.data, "--mode", mode, "--wait", "--timeout", "60", "--silent"]);
  } catch (error) {
    // pg_ctl fails when the server was already gone; only a surviving pid file is an error.
    if (existsSync(join(node.data, "postmaster.pid"))) throw await withLogs(error, [node]);
  }
  node.running = false;
}

async function withLogs(error: unknown, nodes: PgNode[]): Promise<Error> {
  const message = error instanceof Error ? error.message : String(error);
  const tails = await Promise.all(nodes.map(async (node) => `--- ${node.name} log (${node.log}) ---\n${await logTail(node.log)}`));
  return new Error(`${message}\n${tails.join("\n")}`);
}

/** Runs a Postgres binary, as the `postgres` user when we are root. */
async function run(ctx: Context, tool: string, args: string[]): Promise<string> {
  const path = join(ctx.binDir, tool);
  const [file, argv] = ctx.owner ? ["runuser", ["-u", USER, "--", path, ...args]] : [path, args];
  try {
    const { stdout, stderr } = await execFileAsync(file, argv, { cwd: ctx.dir, env: ctx.env, timeout: 120_000 });
    return stdout + stderr;
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string };
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${tool} failed: ${message}${output.stdout ? `\n${output.stdout}` : ""}`);
  }
}

async function writeOwned(ctx: Context, path: string, text: string): Promise<void> {
  await writeFile(path, text);
  if (ctx.owner) await chown(path, ctx.owner.uid, ctx.owner.gid);
}

/** The caller's environment minus PG* variables, which would redirect the tools elsewhere. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("PG")) env[key] = value;
  env.LC_ALL = "C";
  return env;
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync("id", ["-u", USER]).then(({ stdout }) => Number(stdout.trim())),
      execFileAsync("id", ["-g", USER]).then(({ stdout }) => Number(stdout.trim())),
    ]);
    return { uid, gid };
  } catch {
    throw new Error(`running as root needs a '${USER}' user to run PostgreSQL (it refuses root); install the postgresql package`);
  }
}

let binDirCache: Promise<string> | undefined;

/**
 * Where initdb/pg_ctl/pg_basebackup live: $PG_BINDIR, `pg_config --bindir`, the newest
 * /usr/lib/postgresql/<version>/bin (Debian), then PATH.
 */
export function findBinDir(): Promise<string> {
  binDirCache ??= (async () => {
    const candidates: string[] = [];
    if (process.env.PG_BINDIR) candidates.push(process.env.PG_BINDIR);
    try {
      const { stdout } = await execFileAsync("pg_config", ["--bindir"]);
      candidates.push(stdout.trim());
    } catch {
      // pg_config ships with libpq-dev/postgresql-common, which may be absent.
    }
    try {
      const versions = (await readdir("/usr/lib/postgresql")).filter((name) => /^\d+(\.\d+)?$/.test(name));
      versions.sort((a, b) => Number(b) - Number(a));
      candidates.push(...versions.map((version) => `/usr/lib/postgresql/${version}/bin`));
    } catch {
      // Not Debian-style.
    }
    candidates.push(...(process.env.PATH ?? "").split(delimiter).filter(Boolean));
    const found = candidates.find((dir) => ["initdb", "pg_ctl", "pg_basebackup"].every((tool) => existsSync(join(dir, tool))));
    if (found === undefined) {
      throw new Error("PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found; install postgresql or set PG_BINDIR");
    }
    return found;
  })();
  return binDirCache;
}

// --- last-resort cleanup when the process exits without calling stop() ---

const liveClusters = new Map<string, string[]>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const [dir, dataDirs] of liveClusters) {
      killPostmasters(dataDirs);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** SIGQUIT is Postgres' immediate shutdown, sent straight to the postmaster named in its pid file. */
function killPostmasters(dataDirs: string[]): void {
  for (const data of dataDirs) killRecorded(join(data, "postmaster.pid"), data, "SIGQUIT");
}
