import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { isLocalMode, requireEdgeSigning } from "../../regional/local-mode.ts";

const repoRoot = resolve(import.meta.dirname, "../..");
const secret = "edge-signing-secret-for-local-mode-0123456789";

/**
 * Runs regional/main.ts with `env` (and nothing of this shell's Breakwater settings) until it
 * exits or says it is listening; what it printed, and its exit code (null: it was listening).
 */
async function start(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), "bw-local-mode-"));
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(EDGE_SIGNING_SECRET|DATABASE_URL|HOST|PORT|DATA_DIR)$/.test(name)),
  );
  const child = spawn(process.execPath, ["--import", "tsx", "regional/main.ts"], {
    cwd: repoRoot,
    env: { ...inherited, PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  try {
    return await new Promise((done) => {
      const seen = (part: Buffer) => {
        output += part.toString();
        if (output.includes("regional service listening")) {
          child.kill("SIGKILL");
          done({ code: null, output });
        }
      };
      child.stdout.on("data", seen);
      child.stderr.on("data", seen);
      child.once("exit", (code) => done({ code, output }));
    });
  } finally {
    child.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  }
}

describe("local mode", () => {
  it("is the embedded database on a loopback HOST, and nothing else", () => {
    expect(isLocalMode({ DATABASE_URL: undefined, HOST: "127.0.0.1" })).toBe(true);
    expect(isLocalMode({ DATABASE_URL: undefined, HOST: "localhost" })).toBe(true);
    expect(isLocalMode({ DATABASE_URL: undefined, HOST: "::1" })).toBe(true);
    expect(isLocalMode({ DATABASE_URL: undefined, HOST: "0.0.0.0" })).toBe(false);
    expect(isLocalMode({ DATABASE_URL: undefined, HOST: "10.0.0.5" })).toBe(false);
    expect(isLocalMode({ DATABASE_URL: "postgres://db/app", HOST: "127.0.0.1" })).toBe(false);
  });

  it("needs no EDGE_SIGNING_SECRET; anywhere else start-up stops, saying why", () => {
    expect(() => requireEdgeSigning({ DATABASE_URL: undefined, HOST: "127.0.0.1", EDGE_SIGNING_SECRET: undefined })).not.toThrow();
    expect(() => requireEdgeSigning({ DATABASE_URL: "postgres://db/app", HOST: "127.0.0.1", EDGE_SIGNING_SECRET: secret })).not.toThrow();
    expect(() => requireEdgeSigning({ DATABASE_URL: "postgres://db/app", HOST: "127.0.0.1", EDGE_SIGNING_SECRET: undefined })).toThrow(
      /EDGE_SIGNING_SECRET is not set.*DATABASE_URL.*rate limits/s,
    );
    expect(() => requireEdgeSigning({ DATABASE_URL: undefined, HOST: "0.0.0.0", EDGE_SIGNING_SECRET: undefined })).toThrow(
      /EDGE_SIGNING_SECRET is not set.*HOST 0\.0\.0\.0.*not a loopback/s,
    );
  });
});

describe("regional start-up without EDGE_SIGNING_SECRET", () => {
  it("refuses on a HOST others can reach, and says why", async () => {
    const { code, output } = await start({ HOST: "0.0.0.0" });
    expect(code).not.toBe(null);
    expect(code).not.toBe(0);
    expect(output).toMatch(/EDGE_SIGNING_SECRET is not set.*HOST 0\.0\.0\.0/);
  }, 60_000);

  it("refuses with a Postgres server, before connecting to it", async () => {
    const { code, output } = await start({ HOST: "127.0.0.1", DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" });
    expect(code).not.toBe(null);
    expect(output).toMatch(/EDGE_SIGNING_SECRET is not set.*DATABASE_URL/);
  }, 60_000);

  it("starts in local mode, as npm start and the bench run it", async () => {
    const { code, output } = await start({ HOST: "127.0.0.1" });
    expect(code, output.slice(-2_000)).toBe(null);
  }, 90_000);
  it("runs the embedded database in a process of its own, stopped when the service shuts down", async () => {
    await withLocalService(async (service) => {
      const database = await embeddedDatabaseOf(service.pid);
      service.kill("SIGTERM");
      expect(await service.exited).toBe(0);
      await until(() => !existsSync(`/proc/${database}`));
    });
  }, 90_000);

  it("stops the embedded database when the service is killed outright", async () => {
    await withLocalService(async (service) => {
      const database = await embeddedDatabaseOf(service.pid);
      service.kill("SIGKILL");
      await service.exited;
      await until(() => !existsSync(`/proc/${database}`));
    });
  }, 90_000);
});

interface LocalService {
  pid: number;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

/** Runs regional/main.ts in local mode until `use` is done with it (listening by then). */
async function withLocalService(use: (service: LocalService) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "bw-local-db-"));
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(EDGE_SIGNING_SECRET|DATABASE_URL|HOST|PORT|DATA_DIR)$/.test(name)),
  );
  const child = spawn(process.execPath, ["--import", "tsx", "regional/main.ts"], {
    cwd: repoRoot,
    env: { ...inherited, HOST: "127.0.0.1", PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  try {
    let output = "";
    await new Promise<void>((listening, failed) => {
      const seen = (part: Buffer) => {
        output += part.toString();
        if (output.includes("regional service listening")) listening();
      };
      child.stdout.on("data", seen);
      child.stderr.on("data", seen);
      void exited.then((code) => failed(new Error(`exited with ${code}:\n${output.slice(-2_000)}`)));
    });
    if (child.pid === undefined) throw new Error("no pid");
    await use({ pid: child.pid, kill: (signal) => child.kill(signal), exited });
  } finally {
    child.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The pid of the embedded database process `parent` started. */
async function embeddedDatabaseOf(parent: number): Promise<number> {
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const [stat, cmdline] = await Promise.all([
      readFile(`/proc/${entry}/stat`, "utf8").catch(() => ""),
      readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => ""),
    ]);
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === parent && cmdline.includes("embedded-server")) return Number(entry);
  }
  throw new Error(`no embedded database process under ${parent}`);
}

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((done) => setTimeout(done, 50));
  }
}
