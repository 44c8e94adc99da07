import { createHash, randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../../regional/app.ts";
import { createMockProvider } from "../../regional/providers/mock/index.ts";
import { listen, type RunningServer } from "../../regional/server.ts";
import {
  bodyLengthHeader,
  identityHeaders,
  sign,
  signatureHeader,
  streamedBodyDigest,
  timestampHeader,
  unknownBodyLength,
} from "../../shared/signing.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";

const secret = "edge-signing-secret-for-the-upload-tests-0123";
const maxBodyBytes = 64 * 1024;
const maxUploadBytes = 1024 * 1024;
let t: TestApp;
let server: RunningServer;
let identity: Record<string, string>;

beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), {
    maxBodyBytes,
    maxUploadBytes,
    providers: [createMockProvider(), createMockProvider({ name: "failing", faults: { whisper: "status=503" } })],
    routes: {
      routes: {
        transcribe: {
          targets: [
            { provider: "failing", model: "whisper" },
            { provider: "mock", model: "whisper" },
          ],
          retry: { maxAttempts: 1 },
        },
      },
    },
  });
  server = await listen(createApp({ ...t.deps, edgeSigningSecret: secret }), "127.0.0.1", 0);
  const [key] = await t.db.write<{ id: string; prefix: string }[]>`select id, prefix from api_keys where tenant_id = ${t.tenantId}`;
  identity = { [identityHeaders.keyId]: key!.id, [identityHeaders.tenantId]: t.tenantId, [identityHeaders.keyPrefix]: key!.prefix };
});
afterAll(async () => {
  await server?.close(0);
  await t?.close();
});

/** A multipart form as a client encodes it: its bytes and content type (with the boundary). */
async function formBytes(fields: Record<string, string | Blob>): Promise<{ bytes: Uint8Array<ArrayBuffer>; contentType: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === "string") form.append(name, value);
    else form.append(name, value, "clip.wav");
  }
  const encoded = new Response(form);
  return { bytes: new Uint8Array(await encoded.arrayBuffer()), contentType: encoded.headers.get("content-type") ?? "" };
}

/** Headers of a call the edge signed as it signs a streamed upload: by the length it declares, not a hash. */
async function streamedHeaders(path: string, contentType: string, signedLength: number | null): Promise<Record<string, string>> {
  const timestampS = Math.floor(Date.now() / 1000);
  const vouched = {
    ...identity,
    [bodyLengthHeader]: signedLength === null ? unknownBodyLength : String(signedLength),
    "x-breakwater-nonce": crypto.randomUUID(),
    "x-breakwater-covers": "content-type",
  };
  const signature = await sign(secret, {
    method: "POST",
    pathAndQuery: path,
    timestampS,
    bodySha256: streamedBodyDigest,
    headers: { ...vouched, "content-type": contentType },
  });
  return { ...vouched, "content-type": contentType, [timestampHeader]: String(timestampS), [signatureHeader]: signature };
}

/** Signed with `signedLength` (null: none declared, as for a chunked upload). */
async function postStreamed(
  path: string,
  bytes: Uint8Array<ArrayBuffer>,
  contentType: string,
  signedLength: number | null = bytes.byteLength,
) {
  return await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: await streamedHeaders(path, contentType, signedLength),
    body: bytes,
  });
}

const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; param: string | null } }).error;

describe("uploads the edge streams to regional", () => {
  it("takes an upload far past MAX_BODY_BYTES, and the provider gets it intact with the route's model, again on fallback", async () => {
    const clip = randomBytes(600 * 1024);
    const { bytes, contentType } = await formBytes({ model: "transcribe", file: new Blob([clip], { type: "audio/wav" }) });
    expect(bytes.byteLength).toBeGreaterThan(maxBodyBytes);

    const response = await postStreamed("/v1/audio/transcriptions", bytes, contentType);

    expect(response.status).toBe(200);
    expect(response.headers.get("x-breakwater-attempts")).toBe("2");
    const sha256 = createHash("sha256").update(clip).digest("hex");
    expect(((await response.json()) as { text: string }).text).toBe(
      `mock transcript of ${clip.byteLength} bytes (sha256 ${sha256}) by whisper`,
    );
  });

  it("takes an upload whose length the client did not declare", async () => {
    const { bytes, contentType } = await formBytes({ model: "mock/whisper", file: new Blob([randomBytes(2000)]), response_format: "text" });

    const response = await postStreamed("/v1/audio/transcriptions", bytes, contentType, null);

    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^mock transcript of 2000 bytes /);
  });

  it("refuses a body whose length differs from the signed one, on the upload route and on a JSON route", async () => {
    const { bytes, contentType } = await formBytes({ model: "mock/whisper", file: new Blob([randomBytes(5000)]) });
    const upload = await postStreamed("/v1/audio/transcriptions", bytes, contentType, bytes.byteLength + 1);
    expect(upload.status).toBe(401);
    expect((await errorOf(upload)).code).toBe("invalid_signature");

    const json = new TextEncoder().encode(JSON.stringify({ model: "mock/moderate", input: "hi" }));
    const moderation = await postStreamed("/v1/moderations", json, "text/plain", json.byteLength - 1);
    expect(moderation.status).toBe(401);
  });

  it("refuses an upload declared past MAX_UPLOAD_BYTES with 413 before a byte of it is read", async () => {
    const path = "/v1/audio/transcriptions";
    const length = maxUploadBytes + 1;
    const headers = await streamedHeaders(path, "multipart/form-data; boundary=xyz", length);
    const status = await new Promise<number>((resolve, reject) => {
      const outgoing = httpRequest(`${server.url}${path}`, { method: "POST", headers: { ...headers, "content-length": String(length) } });
      outgoing.on("response", (incoming) => {
        incoming.resume();
        resolve(incoming.statusCode ?? 0);
        outgoing.destroy();
      });
      outgoing.on("error", reject);
      // Headers only: the server must answer without waiting for the body.
      outgoing.flushHeaders();
    });
    expect(status).toBe(413);
  });
});

describe("the multipart upload's fields", () => {
  const post = async (fields: Record<string, string | Blob>) => {
    const { bytes, contentType } = await formBytes(fields);
    return await postStreamed("/v1/audio/transcriptions", bytes, contentType);
  };

  it("needs a model, once, and a file", async () => {
    const noModel = await post({ file: new Blob(["abc"]) });
    expect(noModel.status).toBe(400);
    expect((await errorOf(noModel)).param).toBe("model");

    const { bytes, contentType } = await formBytes({ model: "mock/whisper", file: new Blob(["abc"]) });
    const boundary = contentType.split("boundary=")[1]!;
    const extra = new TextEncoder().encode(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nmock/other\r\n`);
    const twice = new Uint8Array(extra.byteLength + bytes.byteLength);
    twice.set(extra);
    twice.set(bytes, extra.byteLength);
    const doubled = await postStreamed("/v1/audio/transcriptions", twice, contentType);
    expect(doubled.status).toBe(400);
    expect((await errorOf(doubled)).param).toBe("model");

    const noFile = await post({ model: "mock/whisper", file: "not a file" });
    expect(noFile.status).toBe(400);
    expect((await errorOf(noFile)).param).toBe("file");
  });

  it("refuses a body cut before its closing boundary, or not multipart at all, with 400", async () => {
    const { bytes, contentType } = await formBytes({ model: "mock/whisper", file: new Blob([randomBytes(3000)]) });
    const cut = await postStreamed("/v1/audio/transcriptions", bytes.slice(0, 2000), contentType);
    expect(cut.status).toBe(400);
    expect((await errorOf(cut)).code).toBe("invalid_request");

    const notForm = await postStreamed("/v1/audio/transcriptions", bytes, "application/octet-stream");
    expect(notForm.status).toBe(400);
  });
});
