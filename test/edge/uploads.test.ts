import { describe, expect, it } from "vitest";
import { edgeFetchWith, errorBody, fakeOrigin } from "./harness.ts";

/** What the fake origin heard of an upload. */
interface Heard {
  bytes: number;
  sha256: string;
  type: string;
  length: string | null;
  signed: boolean;
}

const hex = (digest: ArrayBuffer) => Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");

/** A multipart form with a file of `size` random bytes, encoded once so its bytes can be hashed. */
async function form(size: number): Promise<{ bytes: Uint8Array; contentType: string }> {
  const file = new Uint8Array(size);
  // getRandomValues fills at most 64 KiB at a time.
  for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(file.subarray(at, at + 65_536));
  const data = new FormData();
  data.append("model", "mock/whisper");
  data.append("file", new Blob([file], { type: "audio/wav" }), "clip.wav");
  const encoded = new Response(data);
  return { bytes: new Uint8Array(await encoded.arrayBuffer()), contentType: encoded.headers.get("content-type") ?? "" };
}

describe("uploads through the edge", () => {
  it("streams a multipart upload far past 1 MiB to the origin intact, with its length, signed by that length", async () => {
    const { bytes, contentType } = await form(3 * 1024 * 1024);

    const res = await edgeFetchWith({}, "/v1/audio/transcriptions", {
      method: "POST",
      headers: { "content-type": contentType, "content-length": String(bytes.byteLength) },
      body: bytes,
    });

    expect(res.status).toBe(200);
    const heard = await res.json<Heard>();
    expect(heard.bytes).toBe(bytes.byteLength);
    expect(heard.sha256).toBe(hex(await crypto.subtle.digest("SHA-256", bytes)));
    expect(heard.type).toBe(contentType);
    expect(heard.length).toBe(String(bytes.byteLength));
    expect(heard.signed).toBe(true);
    await res.settled();
  });

  it("streams an upload whose length the client did not declare, signed as such", async () => {
    const { bytes, contentType } = await form(200 * 1024);
    const body = new Blob([bytes]).stream();

    const res = await edgeFetchWith({}, "/v1/audio/transcriptions", { method: "POST", headers: { "content-type": contentType }, body });

    expect(res.status).toBe(200);
    const heard = await res.json<Heard>();
    expect(heard.sha256).toBe(hex(await crypto.subtle.digest("SHA-256", bytes)));
    expect(heard.signed).toBe(true);
    await res.settled();
  });

  it("refuses an upload declared past MAX_UPLOAD_BYTES with 413, without calling the origin", async () => {
    const res = await edgeFetchWith({ MAX_UPLOAD_BYTES: "100000" }, "/v1/audio/transcriptions", {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=xyz", "content-length": "100001", "x-test-calls": "declared-upload" },
      body: new Uint8Array(100_001),
    });

    expect(res.status).toBe(413);
    expect((await errorBody(res)).error.code).toBe("payload_too_large");
    expect(await fakeOrigin.calls("declared-upload")).toBe(0);
  });

  it("answers 413 to an undeclared upload the moment it passes MAX_UPLOAD_BYTES, and reads no more of it", async () => {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const pending = edgeFetchWith({ MAX_UPLOAD_BYTES: "200000" }, "/v1/audio/transcriptions", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: readable,
    });
    const chunk = new Uint8Array(64 * 1024);
    let written = 0;
    const writing = (async () => {
      for (let i = 0; i < 64; i++) {
        await writer.write(chunk);
        written += 1;
      }
      await writer.close();
    })().catch(() => {});

    const res = await pending;
    expect(res.status).toBe(413);
    expect((await errorBody(res)).error.code).toBe("payload_too_large");
    await writing;
    // Four chunks pass 200,000 bytes; a few more may be in flight, never the whole 4 MiB.
    expect(written).toBeLessThan(16);
  });

  it("keeps the 1 MiB limit for JSON bodies", async () => {
    const res = await edgeFetchWith({}, "/v1/echo", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(2 * 1024 * 1024) },
      body: "x".repeat(2 * 1024 * 1024),
    });

    expect(res.status).toBe(413);
  });
});

describe("a binary answer whose origin breaks after it started", () => {
  it("ends the client's body with an error, never as a clean short file", async () => {
    const res = await edgeFetchWith({}, "/v1/audio/speech", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "mock/speak", input: "cut", voice: "alloy" }),
    });

    expect(res.status).toBe(200);
    let received = 0;
    const ended = await (async () => {
      for await (const part of res.body!) received += part.byteLength;
      return "clean end";
    })().catch(() => "broken");
    expect(ended).toBe("broken");
    expect(received).toBeLessThanOrEqual(8192);
    await res.settled();
  });
});
