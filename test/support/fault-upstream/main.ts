import { parseArgs } from "node:util";
import { createControlServer } from "./control-server.ts";
import { close, listen } from "./tuned-server.ts";
import type { ListeningLine } from "./protocol.ts";
import { createProviderServer } from "./provider-server.ts";
import { createRecords } from "./records.ts";
import { createScripts } from "./scripts.ts";

/*
 * A fault-injecting OpenAI-compatible upstream, as its own process: N named providers, each
 * on its own port, and a control port that scripts their faults and reports what they saw.
 *
 *   node --import tsx test/support/fault-upstream/main.ts primary,secondary
 *   node --import tsx test/support/fault-upstream/main.ts --providers primary=9001,secondary=9002 --control-port 9000
 *
 * Providers (`name` or `name=port`) come from the arguments or FAULT_UPSTREAM_PROVIDERS;
 * `--models` (FAULT_UPSTREAM_MODELS) is what `/v1/models` lists. Once listening it prints
 * one JSON line, `{"control":p,"providers":{"primary":p1,...}}`. `--exit-with-stdin` ends it
 * when its stdin closes, so it dies with a parent that was killed before it could clean up.
 */

const usage = "usage: main.ts [--providers] name[=port],... [--models a,b] [--control-port p] [--exit-with-stdin]";

interface Settings {
  providers: { name: string; port: number }[];
  models: string[];
  controlPort: number;
  exitWithStdin: boolean;
}

const listOf = (text: string | undefined) =>
  (text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

function portOf(text: string | undefined, what: string): number {
  const port = Number(text ?? "0");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${what}: not a port: ${text}`);
  return port;
}

function readSettings(argv: string[], env: NodeJS.ProcessEnv): Settings {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      providers: { type: "string" },
      models: { type: "string" },
      "control-port": { type: "string" },
      "exit-with-stdin": { type: "boolean" },
    },
  });
  const providers = listOf(values.providers ?? (positionals.join(",") || env.FAULT_UPSTREAM_PROVIDERS)).map((item) => {
    const [name = "", port] = item.split("=");
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`provider name '${name}': letters, digits, - and _ only`);
    return { name, port: portOf(port, name) };
  });
  if (providers.length === 0) throw new Error(`no providers named\n${usage}`);
  if (new Set(providers.map((provider) => provider.name)).size < providers.length) throw new Error("provider names must differ");
  return {
    providers,
    models: listOf(values.models ?? env.FAULT_UPSTREAM_MODELS ?? "model-a,model-b,embed-a"),
    controlPort: portOf(values["control-port"] ?? env.FAULT_UPSTREAM_CONTROL_PORT, "control port"),
    exitWithStdin: values["exit-with-stdin"] ?? false,
  };
}

async function main(): Promise<void> {
  const settings = readSettings(process.argv.slice(2), process.env);
  const scripts = createScripts();
  const records = createRecords();
  // Epoch milliseconds with sub-millisecond precision, comparable with the test process's clock.
  const now = () => performance.timeOrigin + performance.now();

  const providers = settings.providers.map(({ name, port }) => ({
    name,
    port,
    server: createProviderServer({ name, models: settings.models, scripts, records, now }),
  }));
  const control = createControlServer({ providers: providers.map(({ name }) => name), scripts, records });
  const servers = [control, ...providers.map(({ server }) => server)];

  const line: ListeningLine = { control: await listen(control, settings.controlPort), providers: {} };
  for (const { name, port, server } of providers) line.providers[name] = await listen(server, port);
  process.stdout.write(`${JSON.stringify(line)}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void Promise.all(servers.map(close)).then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  if (settings.exitWithStdin) {
    process.stdin.on("end", stop).on("close", stop).resume();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
