import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { controlPaths, queryToFilter } from "./protocol.ts";
import type { Records } from "./records.ts";
import { parseScript, RuleError } from "./rules.ts";
import type { Scripts } from "./scripts.ts";

export interface ControlOptions {
  providers: string[];
  scripts: Scripts;
  records: Records;
}

/** The control port (see `protocol.ts`): scripts in, records out, JSON both ways. */
export function createControlServer(options: ControlOptions): Server {
  return createServer((request, response) => {
    route(options, request, response).catch((error: unknown) => reply(response, 500, { error: { message: String(error) } }));
  });
}

async function route(options: ControlOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? "/", "http://control");
  const call = `${request.method} ${url.pathname}`;

  if (call === `GET ${controlPaths.health}`) return reply(response, 200, { providers: options.providers });
  if (call === `GET ${controlPaths.rules}`) return reply(response, 200, { scripts: options.scripts.list() });
  if (call === `GET ${controlPaths.requests}`) {
    const filter = queryToFilter(url.searchParams);
    if (typeof filter === "string") return reply(response, 400, { error: { message: filter } });
    return reply(response, 200, { requests: options.records.list(filter) });
  }
  if (call === `POST ${controlPaths.reset}`) {
    options.scripts.clear();
    options.records.clear();
    return reply(response, 204);
  }
  if (call === `POST ${controlPaths.rules}`) {
    const body = await readJson(request);
    const { provider, model, rules } = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    if (typeof provider !== "string" || !options.providers.includes(provider))
      return reply(response, 404, { error: { message: `no provider '${String(provider)}' (serving: ${options.providers.join(", ")})` } });
    if (typeof model !== "string" || model === "") return reply(response, 400, { error: { message: "model must be a model name or *" } });
    try {
      options.scripts.set(provider, model, parseScript(rules));
    } catch (error) {
      if (error instanceof RuleError) return reply(response, 400, { error: { message: error.message } });
      throw error;
    }
    return reply(response, 204);
  }
  return reply(response, 404, { error: { message: `no control call ${call}` } });
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  try {
    return JSON.parse(Buffer.concat(parts).toString("utf8"));
  } catch {
    return undefined;
  }
}

function reply(response: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    response.writeHead(status).end();
    return;
  }
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
