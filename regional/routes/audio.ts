import { Hono, type Context } from "hono";
import { forwardedJsonRequest } from "../../shared/contract/forwarded.ts";
import { GatewayError } from "../../shared/error.ts";
import { readBodyLimited } from "../../shared/read-body.ts";
import type { AppDeps } from "../deps.ts";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";
import type { BodyFor } from "../routing/forwarded-attempts.ts";
import { forwardBytes, forwardWhole, withModel } from "./forwarded.ts";

/**
 * The upload as a form, read up to `MAX_BODY_BYTES` (413 the moment it passes, without
 * reading the rest): kept whole within the limit so a retry or fallback can send it again.
 */
async function formOf(c: Context<AppEnv>, maxBytes: number): Promise<FormData> {
  const contentType = c.req.header("content-type") ?? "";
  if (!contentType.toLowerCase().startsWith("multipart/form-data")) {
    throw new GatewayError("invalid_request", { message: "The request body must be multipart/form-data." });
  }
  const bytes = c.get("body") ?? (await readBodyLimited(c.req.raw, maxBytes));
  try {
    return await new Request("http://form.invalid/", { method: "POST", headers: { "content-type": contentType }, body: bytes }).formData();
  } catch (error) {
    throw new GatewayError("invalid_request", { message: "The multipart body cannot be read.", cause: error });
  }
}

/** The form re-encoded for a target, its `model` the target's own name; files keep their names and types. */
const formWithModel =
  (form: FormData): BodyFor =>
  async (model) => {
    const copy = new FormData();
    form.forEach((value, name) => {
      if (name !== "model") copy.append(name, value);
    });
    copy.set("model", model);
    const encoded = new Response(copy);
    return { body: new Uint8Array(await encoded.arrayBuffer()), contentType: encoded.headers.get("content-type") ?? "multipart/form-data" };
  };

/** `POST /v1/audio/transcriptions` (multipart upload, JSON or text back) and `POST /v1/audio/speech` (JSON in, audio streamed back). */
export function audioRoute(deps: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .post("/audio/transcriptions", async (c) => {
      const form = await formOf(c, deps.limits.maxBodyBytes);
      const model = form.get("model");
      if (typeof model !== "string" || model === "")
        throw new GatewayError("invalid_request", { message: "model is required.", param: "model" });
      if (!(form.get("file") instanceof Blob)) throw new GatewayError("invalid_request", { message: "file is required.", param: "file" });
      return await forwardWhole(c, deps, {
        model,
        kind: "transcription",
        forwarding: { endpoint: "transcription", bodyFor: formWithModel(form), accept: "application/json, text/plain" },
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
