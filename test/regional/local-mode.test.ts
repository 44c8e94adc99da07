import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
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
});
