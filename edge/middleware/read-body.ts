import type { MiddlewareHandler } from "hono";
import { assertJsonDepth } from "../../shared/json-depth.ts";
import { readBodyLimited } from "../../shared/read-body.ts";
import type { AppEnv } from "../context.ts";

/** Largest request body the edge accepts, as the regional tier does by default. */
export const maxBodyBytes = 1024 * 1024;

/**
 * Whether a body of this content type is (or may be) JSON: none given, `application/json` or
 * any `+json` type. A multipart upload or binary body is not, and is never parsed at the edge.
 */
export function isJsonContentType(type: string | undefined): boolean {
  const essence = (type ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return essence === "" || essence === "application/json" || essence.endsWith("+json");
}

/**
 * Reads the request body whole (it is hashed into the signature and estimated for the
 * token limit) and puts it on the context as `body`. Bodies over 1 MiB get 413, by their
 * Content-Length or, without one, as soon as the bytes read pass the limit. A body nested
 * deeper than `MAX_JSON_DEPTH` gets 400 here, before the cache key, the token estimate or
 * the origin parse it: their recursive JSON code would overflow the stack on it. Only JSON
 * bodies are checked: an audio upload's bytes may hold any number of `[` and `{`.
 */
export const readBody = (): MiddlewareHandler<AppEnv> =>
  async function readBody(c, next) {
    const body = await readBodyLimited(c.req.raw, maxBodyBytes);
    if (body && isJsonContentType(c.req.header("content-type"))) assertJsonDepth(body, c.get("requestContext").settings.maxJsonDepth);
    c.set("body", body);
    await next();
  };
