import type { MiddlewareHandler } from "hono";
import { readBodyLimited } from "../../shared/read-body.ts";
import type { AppEnv } from "../env.ts";

/** Largest request body the edge accepts, as the regional tier does by default. */
export const maxBodyBytes = 1024 * 1024;

/**
 * Reads the request body whole (it is hashed into the signature and estimated for the
 * token limit) and puts it on the context as `body`. Bodies over 1 MiB get 413, by their
 * Content-Length or, without one, as soon as the bytes read pass the limit.
 */
export const readBody = (): MiddlewareHandler<AppEnv> =>
  async function readBody(c, next) {
    c.set("body", await readBodyLimited(c.req.raw, maxBodyBytes));
    await next();
  };
