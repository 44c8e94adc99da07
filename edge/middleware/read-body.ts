import type { MiddlewareHandler } from "hono";
import { assertJsonDepth } from "../../shared/json-depth.ts";
import { readBodyLimited } from "../../shared/read-body.ts";
import type { AppEnv } from "../context.ts";
import { streamedUpload } from "../origins/upload.ts";

/** Largest JSON request body the edge accepts, as the regional tier does by default (uploads: `MAX_UPLOAD_BYTES`). */
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
 * Whether a body of this content type is an upload: a multipart form or binary media (an audio
 * file). Such a body is streamed to the origin rather than read here; any other is read whole.
 */
export function isUploadContentType(type: string | undefined): boolean {
  const essence = (type ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return essence === "multipart/form-data" || essence === "application/octet-stream" || /^(audio|video|image)\//.test(essence);
}

/**
 * Reads the request body whole (it is hashed into the signature and estimated for the token
 * limit) and puts it on the context as `body`. Bodies over 1 MiB get 413, by their
 * Content-Length or, without one, as soon as the bytes read pass the limit. A body nested
 * deeper than `MAX_JSON_DEPTH` gets 400 here, before the cache key, the token estimate or the
 * origin parse it: their recursive JSON code would overflow the stack on it. Only JSON bodies
 * are checked. An upload (`isUploadContentType`: a multipart audio file) is never read here:
 * it is streamed to the origin as `upload`, up to `MAX_UPLOAD_BYTES` (413 beyond, as soon as
 * that is known).
 */
export const readBody = (): MiddlewareHandler<AppEnv> =>
  async function readBody(c, next) {
    const { settings } = c.get("requestContext");
    const type = c.req.header("content-type");
    if (isUploadContentType(type)) {
      c.set("body", null);
      c.set("upload", streamedUpload(c.req.raw, settings.maxUploadBytes));
    } else {
      const body = await readBodyLimited(c.req.raw, maxBodyBytes);
      if (body && isJsonContentType(type)) assertJsonDepth(body, settings.maxJsonDepth);
      c.set("body", body);
      c.set("upload", null);
    }
    await next();
  };
