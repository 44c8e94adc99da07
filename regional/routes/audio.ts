import { Hono, type Context } from "hono";
import { forwardedJsonRequest } from "../../shared/contract/forwarded.ts";
import { GatewayError } from "../../shared/error.ts";
import { defaultMaxUploadBytes } from "../../shared/upload-limit.ts";
import type { AppDeps } from "../deps.ts";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";
import { boundaryOf, formParts, onlyPart, textOf, withValue } from "../http/multipart-form.ts";
import { readUpload } from "../http/upload-body.ts";
import type { BodyFor } from "../routing/forwarded-attempts.ts";
import { forwardBytes, forwardWhole, withModel } from "./forwarded.ts";

/** A transcription upload as it arrived, checked, with the model it asks for. */
interface Upload {
  model: string;
  bodyFor: BodyFor;
}

/**
 * The upload, read up to `MAX_UPLOAD_BYTES` (413 the moment it passes, without reading the
 * rest) and kept as the one copy a retry or fallback sends again: each target gets the same
 * bytes with only the `model` part's value replaced, never the form parsed and encoded anew.
 */
async function uploadOf(c: Context<AppEnv>, maxBytes: number): Promise<Upload> {
  const contentType = c.req.header("content-type") ?? "";
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new GatewayError("invalid_request", { message: "The request body must be multipart/form-data with a boundary." });
  const body = await readUpload(c, maxBytes);
  const parts = formParts(body, boundary);
  const modelPart = onlyPart(parts, "model");
  const model = modelPart && modelPart.filename === undefined ? textOf(body, modelPart) : "";
  if (!modelPart || model === "") throw new GatewayError("invalid_request", { message: "model is required.", param: "model" });
  if (onlyPart(parts, "file")?.filename === undefined)
    throw new GatewayError("invalid_request", { message: "file is required.", param: "file" });
  return { model, bodyFor: async (target) => ({ body: withValue(body, modelPart, target), contentType }) };
}

/** `POST /v1/audio/transcriptions` (multipart upload, JSON or text back) and `POST /v1/audio/speech` (JSON in, audio streamed back). */
export function audioRoute(deps: AppDeps): Hono<AppEnv> {
  const maxUploadBytes = deps.limits.maxUploadBytes ?? defaultMaxUploadBytes;
  return new Hono<AppEnv>()
    .post("/audio/transcriptions", async (c) => {
      const { model, bodyFor } = await uploadOf(c, maxUploadBytes);
      return await forwardWhole(c, deps, {
        model,
        kind: "transcription",
        forwarding: { endpoint: "transcription", bodyFor, accept: "application/json, text/plain" },
      });
    })
    .post("/audio/speech", async (c) => {
      const request = await readJson(c, forwardedJsonRequest, deps.limits.maxBodyBytes, deps.limits.maxJsonDepth);
      return await forwardBytes(c, deps, {
        model: request.model,
        kind: "speech",
        forwarding: { endpoint: "speech", bodyFor: withModel(request), accept: "audio/*" },
      });
    });
}
