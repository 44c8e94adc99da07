/**
 * `npm run bench -- --peer`: the side-by-side run of `../shared/peer-bench/run.sh` (the mock
 * upstream directly, Portkey, and the mock again) with Breakwater regional as its third target:
 * the built service (`npm run build`, plain `node dist/regional/main.js`) as a deployment runs
 * it, here on the embedded default database — whose own process (`embedded-server.js`) stands
 * in for the Postgres server and is not counted. API keys are checked by regional itself
 * (local mode): the edge's signatures cannot be made by the peer bench's load generator.
 * Its table is stored as `bench/peer-table.txt`, beside the baseline.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { benchApiKey } from "./services.ts";
import { freePort, startProcess, waitForHttpOk } from "./processes.ts";

export interface PeerOptions {
  root: string;
  /** Where the peer bench lives; `../shared/peer-bench` beside the repository unless PEER_BENCH_DIR says otherwise. */
  peerDir?: string;
  progress: (message: string) => void;
}

/** The peer bench's mock upstream port (its `MOCK_PORT`, default 9100): regional forwards there. */
const mockPort = (env: NodeJS.ProcessEnv) => Number(env.MOCK_PORT ?? 9100);
/** The models the peer bench's mock upstream serves: a chat and an embeddings model. */
const peerModels = ["mock-model", "mock-embed"];

export async function peerBench(options: PeerOptions): Promise<number> {
  const peerDir = options.peerDir ?? process.env.PEER_BENCH_DIR ?? join(options.root, "..", "shared", "peer-bench");
  const runScript = join(peerDir, "run.sh");
  if (!existsSync(runScript)) throw new Error(`--peer needs the peer bench at ${peerDir} (set PEER_BENCH_DIR)`);

  options.progress("building regional (npm run build -- regional)");
  const built = spawnSync(process.execPath, ["--import", "tsx", "scripts/build.ts", "regional"], { cwd: options.root, encoding: "utf8" });
  if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`);

  const work = mkdtempSync(join(tmpdir(), "breakwater-peer-"));
  const apiKey = benchApiKey();
  const port = await freePort();
  // The peer bench asks every gateway for `mock-model` and `mock-embed` by those names: routes give them to the upstream.
  const routesFile = join(work, "routes.json");
  writeFileSync(
    routesFile,
    JSON.stringify({ routes: Object.fromEntries(peerModels.map((model) => [model, { targets: [{ provider: "openai", model }] }])) }),
  );
  const regional = startProcess({
    name: "built regional",
    command: process.execPath,
    args: ["dist/regional/main.js"],
    cwd: options.root,
    env: {
      ...withoutDatabase(process.env),
      HOST: "127.0.0.1",
      PORT: String(port),
      DATA_DIR: join(work, "data"),
      BREAKWATER_DEV_KEY: apiKey,
      OPENAI_API_KEY: "peer-bench-upstream-key",
      OPENAI_BASE_URL: `http://127.0.0.1:${mockPort(process.env)}/v1`,
      OPENAI_MODELS: peerModels.join(","),
      ROUTES_FILE: routesFile,
      // As deployed: an access-log line per request (read by this process, as a log shipper would).
      LOG_LEVEL: "info",
      BREAKWATER_DEV_RPM: "1000000000",
      BREAKWATER_DEV_TPM: "1000000000",
    },
  });
  try {
    const origin = `http://127.0.0.1:${port}`;
    await waitForHttpOk(`${origin}/health/ready`, regional, 120_000);
    await waitForHttpOk(`${origin}/v1/models`, regional, 30_000, { authorization: `Bearer ${apiKey}` });
    const pid = regional.child.pid;
    if (pid === undefined) throw new Error("built regional has no pid");
    options.progress(`running ${runScript} with breakwater (pid ${pid}, load average ${loadAverage()}) as the third target`);
    const outDir = join(work, "out");
    const code = await run("bash", [runScript], {
      ...process.env,
      OUT_DIR: outDir,
      TARGET_NAME: "breakwater",
      TARGET_URL: `${origin}/v1`,
      TARGET_HEADERS: JSON.stringify({ authorization: `Bearer ${apiKey}` }),
      TARGET_MODEL: "mock-model",
      TARGET_PIDS: String(pid),
    });
    const tableFile = join(outDir, "table.txt");
    if (code !== 0 || !existsSync(tableFile)) throw new Error(`run.sh exited with ${code}; its output is above`);
    const stored = join(options.root, "bench", "peer-table.txt");
    writeFileSync(stored, peerTable(readFileSync(tableFile, "utf8")));
    options.progress(`wrote bench/peer-table.txt (load average after: ${loadAverage()})`);
    return 0;
  } finally {
    await regional.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The stored table: what ran, on what, and how loaded the machine was, then run.sh's own table. */
export function peerTable(table: string, now = new Date()): string {
  return [
    `# npm run bench -- --peer, ${now.toISOString()}`,
    "# breakwater = regional as built (node dist/regional/main.js), embedded default database in its own process (not counted), API keys checked in regional, access log at info",
    `# load average at the end: ${loadAverage()}`,
    "",
    table.trimEnd(),
    "",
  ].join("\n");
}

const loadAverage = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");

/** The shell's own DATABASE_URL must not turn the bench's regional into a Postgres deployment. */
function withoutDatabase(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DATABASE_URL: _, EDGE_SIGNING_SECRET: __, ...rest } = env;
  return rest;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code) => resolve(code));
  });
}
