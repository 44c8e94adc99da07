/**
 * `npm run build`: the regional service as plain JavaScript (`node dist/regional/main.js`)
 * and the edge Worker as wrangler deploys it (`dist/edge`). `npm run build -- regional` or
 * `-- edge` builds one; `-- --env NAME` picks a wrangler environment for the edge.
 *
 * Regional is bundled with esbuild rather than emitted file by file with tsc: one module
 * graph resolved at build time starts faster and holds less code in memory than thousands of
 * small files (the AWS SDK alone is hundreds), and tree-shaking drops what is never called.
 * Code loaded only sometimes (embedded PGlite, AWS credential sources) stays in chunks of
 * its own, loaded when first needed.
 */
import { spawnSync } from "node:child_process";
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const regionalOut = join(root, "dist/regional");
const edgeOut = join(root, "dist/edge");

/**
 * Left to node_modules at run time: PGlite finds its WebAssembly and data files next to its
 * own module, which a bundle would move away from them.
 */
const regionalExternals = ["@electric-sql/pglite", "@electric-sql/pglite-socket"] as const;

// CommonJS packages inside an ES module bundle still call require() for Node built-ins.
const requireShim = 'import { createRequire as __bwCreateRequire } from "node:module"; const require = __bwCreateRequire(import.meta.url);';

async function buildRegional(): Promise<void> {
  await rm(regionalOut, { recursive: true, force: true });
  await build({
    // The embedded database runs in a process of its own (regional/db/embedded.ts starts it).
    entryPoints: { main: join(root, "regional/main.ts"), "embedded-server": join(root, "regional/db/embedded-server.ts") },
    outdir: regionalOut,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20.19",
    // ES module builds first: they tree-shake, and the AWS SDK's CommonJS build loses its named exports through import().
    mainFields: ["module", "main"],
    external: [...regionalExternals],
    banner: { js: requireShim },
    // Beside the bundle, for `node --enable-source-maps` when a stack trace must point at the source.
    sourcemap: "linked",
    // Syntax only: names stay, so stack traces in logs read as the source does.
    minifySyntax: true,
    chunkNames: "chunks/[name]-[hash]",
    legalComments: "none",
    logLevel: "warning",
  });
  // migrate.ts reads the SQL files next to the module at run time: next to main.js once bundled.
  await cp(join(root, "regional/db/migrations"), join(regionalOut, "migrations"), { recursive: true });
  // The output is ES modules whatever package.json sits above it.
  await writeFile(join(regionalOut, "package.json"), `${JSON.stringify({ type: "module" })}\n`);
}

function buildEdge(wranglerEnv: string | undefined): void {
  const args = [
    join(root, "node_modules/wrangler/bin/wrangler.js"),
    "deploy",
    "--dry-run",
    "--outdir",
    edgeOut,
    ...(wranglerEnv ? ["--env", wranglerEnv] : []),
  ];
  const env = {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_SEND_ERROR_REPORTS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  };
  const result = spawnSync(process.execPath, args, { cwd: root, env, stdio: "inherit" });
  if (result.status !== 0) throw new Error(`wrangler deploy --dry-run failed (exit ${result.status ?? result.signal})`);
}

const args = process.argv.slice(2);
const envAt = args.indexOf("--env");
const wranglerEnv = envAt >= 0 ? args[envAt + 1] : undefined;
const targets = args.filter((arg, index) => !arg.startsWith("--") && (envAt < 0 || index !== envAt + 1));
const wanted = (target: string) => targets.length === 0 || targets.includes(target);
const unknown = targets.filter((target) => target !== "regional" && target !== "edge");
if (unknown.length > 0) throw new Error(`unknown build target(s): ${unknown.join(", ")} (regional, edge)`);

await mkdir(join(root, "dist"), { recursive: true });
if (wanted("regional")) {
  const started = performance.now();
  await buildRegional();
  process.stdout.write(`build: dist/regional in ${Math.round(performance.now() - started)} ms\n`);
}
if (wanted("edge")) buildEdge(wranglerEnv);
