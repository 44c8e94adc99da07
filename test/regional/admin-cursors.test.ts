import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { encodeCursor } from "../../regional/http/cursor.ts";
import { isPgTimestampText } from "../../regional/http/pg-timestamp.ts";
import { createTestApp, type TestApp } from "../support/regional-app.ts";

const adminKey = "admin-key-for-cursor-tests-0123456789abcdef";
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(inject("primaryUrl"), { adminKey });
  for (const name of ["first", "second", "third"]) {
    const created = await admin(`/tenants`, "POST", { name });
    expect(created.status).toBe(201);
  }
});
afterAll(async () => t?.close());

async function admin(path: string, method = "GET", body?: unknown): Promise<Response> {
  return await t.app.request(`/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function expectBadRequest(response: Response, param: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(400);
  expect(JSON.parse(text)).toMatchObject({ error: { code: "invalid_request", param } });
}

const tenantId = "0190f0c4-7f6a-7c1e-9d3a-3b1f2a4c5d6e";

describe("admin list cursors whose fields parse but hold garbage", () => {
  it.each([
    ["text that is no time", { createdAt: "yesterday", id: tenantId }],
    ["a day that does not exist", { createdAt: "2025-02-31 10:00:00.123456+00", id: tenantId }],
    ["a month that does not exist", { createdAt: "2025-13-01 10:00:00+00", id: tenantId }],
    ["an hour past 23", { createdAt: "2025-01-01 24:00:00+00", id: tenantId }],
    ["a time without a zone", { createdAt: "2025-01-01 10:00:00", id: tenantId }],
    ["Postgres' infinity", { createdAt: "infinity", id: tenantId }],
    ["SQL", { createdAt: "2025-01-01 10:00:00+00'); select 1; --", id: tenantId }],
    ["an id that is no uuid", { createdAt: "2025-01-01 10:00:00+00", id: "1 or 1=1" }],
    ["a field too many", { createdAt: "2025-01-01 10:00:00+00", id: tenantId, status: "active" }],
  ])("are refused with 400 naming cursor on GET /admin/tenants: %s", async (_what, position) => {
    await expectBadRequest(await admin(`/tenants?cursor=${encodeCursor(position)}`), "cursor");
  });

  it.each([
    ["a region no REGION can name", { region: "test' or '1'='1", seq: 1 }],
    ["a seq past bigint", { region: "test", seq: 1e300 }],
    ["a seq that is no integer", { region: "test", seq: 1.5 }],
    ["a negative seq", { region: "test", seq: -1 }],
    ["a seq as text", { region: "test", seq: "1" }],
  ])("are refused with 400 naming cursor on GET /admin/audit: %s", async (_what, position) => {
    await expectBadRequest(await admin(`/audit?cursor=${encodeCursor(position)}`), "cursor");
  });

  it("are refused with 400 when the audit window names a year Postgres cannot store", async () => {
    await expectBadRequest(await admin(`/audit?since=0000-01-01T00:00:00Z`), "since");
    await expectBadRequest(await admin(`/usage?until=0000-01-01T00:00:00Z`), "until");
  });

  it("still page with the cursors the API gave out", async () => {
    const first = (await (await admin("/tenants?limit=2")).json()) as { data: { id: string }[]; next_cursor: string | null };
    expect(first.next_cursor).not.toBeNull();
    const second = await admin(`/tenants?limit=2&cursor=${first.next_cursor}`);
    expect(second.status).toBe(200);
    const audit = (await (await admin("/audit?limit=1")).json()) as { next_cursor: string | null };
    expect((await admin(`/audit?limit=1&cursor=${audit.next_cursor}`)).status).toBe(200);
  });
});

describe("Postgres timestamp text", () => {
  it("accepts what timestamptz::text prints, in any zone", () => {
    for (const text of [
      "2025-06-01 12:34:56.123456+00",
      "2024-02-29 00:00:00+01",
      "2025-06-01 12:34:56.1+05:30",
      "1999-12-31 23:59:59-03:30:45",
    ])
      expect(isPgTimestampText(text), text).toBe(true);
  });
  it("refuses days that do not exist, and anything but that format", () => {
    for (const text of [
      "2025-02-29 00:00:00+00",
      "2025-04-31 00:00:00+00",
      "2025-06-01T12:34:56Z",
      "0000-01-01 00:00:00+00",
      "",
      "2025-06-01 12:34:56+00 ",
    ])
      expect(isPgTimestampText(text), text).toBe(false);
  });
});
