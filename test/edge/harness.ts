/** How the edge tests reach the Worker under test and steer the fake origin. */
import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { ErrorBody } from "../../shared/contract/errors.ts";
import worker from "../../edge/index.ts";
import type { Env } from "../../edge/env.ts";

const edgeUrl = "http://edge.test";

/** Calls the Worker the way a client does, through workerd. */
export async function edgeFetch(path: string, init?: RequestInit): Promise<Response> {
  return await exports.default.fetch(`${edgeUrl}${path}`, init);
}

/** Calls the Worker's handler with some bindings changed, e.g. a short origin timeout. */
export async function edgeFetchWith(
  bindings: Partial<Env>,
  path: string,
  init?: RequestInit<IncomingRequestCfProperties>,
): Promise<Response> {
  const withBindings: Env = {
    REGIONAL_ORIGIN: env.REGIONAL_ORIGIN,
    ORIGIN_TIMEOUT_MS: env.ORIGIN_TIMEOUT_MS,
    ...bindings,
  };
  const request = new Request<unknown, IncomingRequestCfProperties>(`${edgeUrl}${path}`, init);
  return await worker.fetch(request, withBindings, createExecutionContext());
}

/** The fake origin's controls (see fake-origin.ts); `id` names one held request. */
export const fakeOrigin = {
  /** Resolves once the request with this id reached the origin. */
  async arrived(id: string): Promise<void> {
    const res = await fetch(`${env.REGIONAL_ORIGIN}/__control/arrived/${id}`);
    await res.body?.cancel();
  },
  /** Resolves once the origin saw the connection of the request with this id close. */
  async closed(id: string): Promise<void> {
    const res = await fetch(`${env.REGIONAL_ORIGIN}/__control/closed/${id}`);
    await res.body?.cancel();
  },
  /** Lets the held request go on; says whether its response was still unfinished. */
  async release(id: string): Promise<{ open: boolean }> {
    const res = await fetch(`${env.REGIONAL_ORIGIN}/__control/release/${id}`, { method: "POST" });
    return await res.json<{ open: boolean }>();
  },
};

/** Reads what is left of a text stream, to its end. */
export async function readToEnd(reader: ReadableStreamDefaultReader<string>): Promise<string> {
  let text = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
  return text;
}

/** The body of an error response, typed as the error shape (not checked). */
export async function errorBody(res: Response): Promise<ErrorBody> {
  return await res.json<ErrorBody>();
}
