import { describe, expect, it } from "vitest";
import { edgeFetch } from "./harness.ts";

async function originSawRequestId(res: Response): Promise<string | undefined> {
  const echo = await res.json<{ headers: Record<string, string> }>();
  return echo.headers["x-request-id"];
}

describe("x-request-id", () => {
  it("keeps a valid client id, echoes it and sends it to the origin", async () => {
    const res = await edgeFetch("/v1/echo", { headers: { "x-request-id": "client-req:0001" } });

    expect(res.headers.get("x-request-id")).toBe("client-req:0001");
    expect(await originSawRequestId(res)).toBe("client-req:0001");
  });

  it.each([
    ["too short", "abc"],
    ["unsafe characters", "id with spaces <script>"],
    ["too long", "x".repeat(129)],
  ])("replaces an invalid client id (%s)", async (_, invalid) => {
    const res = await edgeFetch("/v1/echo", { headers: { "x-request-id": invalid } });

    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await originSawRequestId(res)).toBe(id);
  });

  it("makes a new id when the client sends none, unique per request", async () => {
    const first = await edgeFetch("/v1/echo");
    const second = await edgeFetch("/v1/echo");

    const id = first.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await originSawRequestId(first)).toBe(id);
    expect(second.headers.get("x-request-id")).not.toBe(id);
  });

  it("is set on the edge's own responses too", async () => {
    const res = await edgeFetch("/health/live", { headers: { "x-request-id": "client-req:0002" } });

    expect(res.headers.get("x-request-id")).toBe("client-req:0002");
  });
});
