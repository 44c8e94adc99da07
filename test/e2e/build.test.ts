import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { identityHeaders, sha256Hex, sign, signatureHeader, timestampHeader } from "../../shared/signing.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { freePort } from "../support/processes.ts";

/**
 * The Docker image's steps, run without Docker (none runs here): a clean copy of the
 * repository as the build context, the build stage, the runtime stage with production
 * dependencies only, and the result started as the image starts it, against the test
 * Postgres. The build stage's `npm ci` is the one step not repeated: it would install the
 * same lockfile the repository's node_modules was installed from, for half a minute, so that
 * node_modules stands in for it (postgres.js patched by the same postinstall). The runtime
 * stage's install is repeated, from the local npm cache where it can be: it is what proves
 * that nothing the service runs is a dev dependency.
 */
const execFileAsync = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
const devKey = "bw_builtImageKey0123456789abcdef";
const signingSecret = randomBytes(32).toString("base64url");

let work: string;
let database: TestDatabase | undefined;
let service: ChildProcess | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "bw-build-"));
});
afterAll(async () => {
  if (service?.exitCode === null) service.kill("SIGKILL");
  await database?.drop();
  await rm(work, { recursive: true, force: true });
});

/** The files a clone of the repository has once the work in progress is committed. */
async function repositoryFiles(): Promise<string[]> {
  const { stdout } = await execFileAsync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.split("\0").filter((file) => file !== "" && existsSync(join(root, file)));
}

/** .dockerignore as Docker reads it: patterns anchored at the context's root, a directory taking its contents. */
async function dockerIgnored(): Promise<(file: string) => boolean> {
  const lines = (await readFile(join(root, ".dockerignore"), "utf8"))
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  if (lines.some((line) => line.startsWith("!")))
    throw new Error("this test reads no '!' exceptions in .dockerignore; teach it before adding one");
  const patterns = lines.map((line) => {
    const glob = line.replace(/^\/+|\/+$/g, "");
    const source = glob
      .split("**")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*"))
      .join(".*");
    return new RegExp(`^${source}$`);
  });
  return (file) => {
    const parts = file.split("/");
    return parts.some((_, index) => patterns.some((pattern) => pattern.test(parts.slice(0, index + 1).join("/"))));
  };
}

async function copyInto(dir: string, files: string[]): Promise<void> {
  for (const file of files) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await copyFile(join(root, file), join(dir, file));
  }
}

async function run(command: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      cwd,
      maxBuffer: 32 * 1024 * 1024,
      env: { ...process.env, npm_config_update_notifier: "false" },
    });
    return stdout + stderr;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}: ${failed.message}\n${failed.stdout ?? ""}${failed.stderr ?? ""}`);
  }
}

/** A call as the edge makes it: signed with the shared secret, vouching for `identity`. */
async function signed(base: string, method: string, path: string, identity: Record<string, string>, body = ""): Promise<Response> {
  const timestampS = Math.floor(Date.now() / 1000);
  const signature = await sign(signingSecret, {
    method,
    pathAndQuery: path,
    timestampS,
    bodySha256: await sha256Hex(body),
    headers: identity,
  });
  const headers = { ...identity, [timestampHeader]: String(timestampS), [signatureHeader]: signature, "content-type": "application/json" };
  return await fetch(`${base}${path}`, { method, headers, ...(method === "GET" ? {} : { body }) });
}

describe("the Dockerfile", () => {
  it("builds on an exactly pinned slim Node 20, runs as a non-root user with a health check on /health/live", async () => {
    const dockerfile = await readFile(join(root, "Dockerfile"), "utf8");

    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20\.\d+\.\d+-[a-z]+-slim$/m);
    expect(dockerfile.match(/^FROM \$\{NODE_IMAGE\} AS (\w+)$/gm)).toEqual([
      "FROM ${NODE_IMAGE} AS build",
      "FROM ${NODE_IMAGE} AS runtime",
    ]);
    const runtime = dockerfile.slice(dockerfile.indexOf("AS runtime"));
    // The commands the next test runs, in this order.
    expect(dockerfile).toContain("RUN npm ci --no-audit --no-fund\nCOPY . .\nRUN npm run build -- regional\n");
    expect(runtime).toContain("RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund");
    expect(runtime).toContain(
      "COPY --from=build /app/node_modules/postgres ./node_modules/postgres\nCOPY --from=build /app/dist/regional ./dist/regional\n",
    );
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n.*\/health\/live/m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/regional\/main\.js"\]$/m);
  });

  it("builds from a clean copy, installs production dependencies only, and serves the README's call", async () => {
    // Build stage: the context is the repository less .dockerignore.
    const ignored = await dockerIgnored();
    const context = join(work, "context");
    await copyInto(
      context,
      (await repositoryFiles()).filter((file) => !ignored(file)),
    );
    await symlink(join(root, "node_modules"), join(context, "node_modules"), "dir");
    await run("npm", ["run", "build", "--", "regional"], context);
    const migrations = (await readdir(join(root, "regional/db/migrations"))).filter((file) => file.endsWith(".sql"));
    expect((await readdir(join(context, "dist/regional/migrations"))).sort()).toEqual(migrations.sort());

    // Runtime stage.
    const app = join(work, "app");
    await mkdir(app);
    await copyInto(app, ["package.json", "package-lock.json"]);
    await run("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], app);
    for (const devOnly of ["tsx", "esbuild", "typescript", "wrangler", "vitest"])
      expect(existsSync(join(app, "node_modules", devOnly)), devOnly).toBe(false);
    await rm(join(app, "node_modules/postgres"), { recursive: true });
    await cp(await realpath(join(context, "node_modules/postgres")), join(app, "node_modules/postgres"), { recursive: true });
    await cp(join(context, "dist/regional"), join(app, "dist/regional"), { recursive: true });
    expect(await readFile(join(app, "node_modules/postgres/src/connection.js"), "utf8")).toContain("breakwater patch");
    // Bundled from the patched package (comments do not survive bundling; the guard does).
    expect(await readFile(join(app, "dist/regional/main.js"), "utf8")).toMatch(/function nextWrite\(fn\) \{\s+if \(!socket\)/);

    // As the image starts it: its own directory, nothing of the test runner's environment.
    database = await createTestDatabase(inject("primaryUrl"));
    const port = await freePort();
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: app,
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATA_DIR: join(work, "data"),
      DATABASE_URL: database.url,
      MOCK_PROVIDERS: "on",
      BREAKWATER_DEV_KEY: devKey,
      EDGE_SIGNING_SECRET: signingSecret,
      LOG_LEVEL: "warn",
    };
    let output = "";
    const started = spawn(process.execPath, ["dist/regional/main.js"], { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
    service = started;
    started.stdout.on("data", (part: Buffer) => (output += part.toString()));
    started.stderr.on("data", (part: Buffer) => (output += part.toString()));
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    let ready: Response | undefined;
    while (!ready?.ok) {
      if (started.exitCode !== null || Date.now() > deadline) throw new Error(`the built service did not become ready:\n${output}`);
      ready = await fetch(`${base}/health/ready`).catch(() => undefined);
      if (!ready?.ok) await new Promise((done) => setTimeout(done, 50));
    }
    expect(await ready.json()).toMatchObject({ status: "ready" });

    // The README's call, as the edge forwards it: signed, naming the dev key's tenant.
    const keyHash = createHash("sha256").update(devKey).digest("hex");
    const record = (await (await signed(base, "GET", `/internal/keys/${keyHash}`, {})).json()) as {
      key_id: string;
      tenant_id: string;
      prefix: string;
    };
    const identity = {
      [identityHeaders.keyId]: record.key_id,
      [identityHeaders.tenantId]: record.tenant_id,
      [identityHeaders.keyPrefix]: record.prefix,
    };
    const chat = await signed(
      base,
      "POST",
      "/v1/chat/completions",
      identity,
      JSON.stringify({ model: "mock/echo", messages: [{ role: "user", content: "hello there" }] }),
    );
    expect(chat.status).toBe(200);
    expect(((await chat.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe("hello there");

    const exited = new Promise<number | null>((done) => started.once("exit", (code) => done(code)));
    started.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 90_000);

  it("leaves the edge bundled as wrangler deploys it", async () => {
    const clone = join(work, "clone");
    await copyInto(clone, await repositoryFiles());
    await symlink(join(root, "node_modules"), join(clone, "node_modules"), "dir");
    await run("npm", ["run", "build", "--", "edge"], clone);

    const bundle = await readFile(join(clone, "dist/edge/index.js"), "utf8");
    // The Durable Object classes wrangler.toml binds are defined and exported.
    for (const durableObject of ["RateLimiter", "OriginBreaker"]) {
      expect(bundle).toMatch(new RegExp(`var ${durableObject} = class extends`));
      expect(bundle).toMatch(new RegExp(`export \\{[^}]*\\b${durableObject}\\b`));
    }
  }, 60_000);
});
