import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { controlPaths, filterToQuery, type ListeningLine, type SetRulesBody } from "./protocol.ts";
import type { RequestFilter, RequestRecord } from "./records.ts";
import type { FaultRule } from "./rules.ts";

export type { Endpoint, Outcome, RequestFilter, RequestRecord } from "./records.ts";
export type { FaultRule } from "./rules.ts";

export interface FaultUpstream {
  ports: ListeningLine;
  controlUrl: string;
  /** A provider's OpenAI base URL, up to `/v1`. */
  baseUrl(provider: string): string;
  /** Replaces the provider's script for `model` (`*`: every model without its own). */
  setRules(provider: string, model: string, rules: FaultRule[]): Promise<void>;
  /** Clears every script and record. */
  reset(): Promise<void>;
  /** What the providers received, oldest first. */
  requests(filter?: RequestFilter): Promise<RequestRecord[]>;
  /** Everything the process printed so far. */
  output(): string;
  close(): Promise<void>;
}

export interface FaultUpstreamOptions {
  /** What `/v1/models` lists (default `model-a,model-b,embed-a`); any model is served regardless. */
  models?: string[];
  startTimeoutMs?: number;
}

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const mainScript = fileURLToPath(new URL("./main.ts", import.meta.url));

/**
 * Starts the fault upstream as its own process (its own process group, like the gateway's
 * processes in `processes.ts`, so `close()` ends it whole) and resolves once it printed its
 * ports. Its stdin stays a pipe from this process: if this process dies without closing
 * it, the pipe closes and the upstream exits rather than outlive the test run.
 */
export async function startFaultUpstream(providers: string[], options: FaultUpstreamOptions = {}): Promise<FaultUpstream> {
  const args = ["--import", "tsx", mainScript, "--providers", providers.join(","), "--exit-with-stdin"];
  if (options.models) args.push("--models", options.models.join(","));
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"], detached: true });
  let output = "";
  child.stderr.on("data", (part: Buffer) => (output += part.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
    const pid = child.pid;
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-pid, name);
      } catch {
        // Already gone.
      }
    };
    signal("SIGTERM");
    const killer = setTimeout(() => signal("SIGKILL"), 5_000);
    await exited;
    clearTimeout(killer);
  };

  let ports: ListeningLine;
  try {
    ports = await firstLine(child.stdout, exited, () => output, options.startTimeoutMs ?? 20_000);
  } catch (error) {
    await stop();
    throw error;
  }
  child.stdout.on("data", (part: Buffer) => (output += part.toString()));

  const controlUrl = `http://127.0.0.1:${ports.control}`;
  const control = async (method: "GET" | "POST", path: string, body?: unknown): Promise<Response> => {
    const response = await fetch(`${controlUrl}${path}`, {
      method,
      ...(body !== undefined && { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`fault upstream: ${method} ${path} answered ${response.status}: ${await response.text()}`);
    return response;
  };

  return {
    ports,
    controlUrl,
    baseUrl(provider) {
      const port = ports.providers[provider];
      if (port === undefined) throw new Error(`fault upstream serves no provider '${provider}'`);
      return `http://127.0.0.1:${port}/v1`;
    },
    async setRules(provider, model, rules) {
      const body: SetRulesBody = { provider, model, rules };
      await control("POST", controlPaths.rules, body);
    },
    async reset() {
      await control("POST", controlPaths.reset);
    },
    async requests(filter = {}) {
      const query = filterToQuery(filter).toString();
      const response = await control("GET", `${controlPaths.requests}${query ? `?${query}` : ""}`);
      return ((await response.json()) as { requests: RequestRecord[] }).requests;
    },
    output: () => output,
    close: stop,
  };
}

/** The process's first stdout line, parsed: its ports. */
function firstLine(stdout: NodeJS.ReadableStream, exited: Promise<void>, output: () => string, timeoutMs: number): Promise<ListeningLine> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (part: Buffer) => {
      text += part.toString();
      const end = text.indexOf("\n");
      if (end < 0) return;
      finish();
      try {
        resolve(JSON.parse(text.slice(0, end)) as ListeningLine);
      } catch {
        reject(new Error(`fault upstream printed no ports but: ${text.slice(0, 500)}\n${output()}`));
      }
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`fault upstream did not start within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      stdout.off("data", onData);
    };
    stdout.on("data", onData);
    void exited.then(() => {
      finish();
      reject(new Error(`fault upstream exited before it listened:\n${output()}`));
    });
  });
}
