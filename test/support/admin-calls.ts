import { expect } from "vitest";
import { auditIdHeader } from "../../regional/http/admin-audit.ts";

/** An audit log entry as `GET /admin/audit` lists it. */
export interface AuditEntry {
  event_id: string;
  action: string;
  resource: string;
  result: string;
  tenant_id: string | null;
  metadata: Record<string, unknown>;
}

interface App {
  request(input: string, init?: RequestInit): Response | Promise<Response>;
}

/** Admin API calls against an app in process, with the admin key; `app` is read at each call (tests set it in `beforeAll`). */
export function adminCalls(app: () => App, adminKey: string) {
  async function admin(method: string, path: string, body?: unknown): Promise<Response> {
    return await app().request(`/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
  }

  /** The body of an answer that must have `status`; its text is the failure message otherwise. */
  async function json<T>(response: Response, status: number): Promise<T> {
    const text = await response.text();
    expect(response.status, text).toBe(status);
    return JSON.parse(text) as T;
  }

  /** The audit event an admin answer names in its audit-id header. */
  async function eventOf(response: Response): Promise<AuditEntry> {
    const id = response.headers.get(auditIdHeader);
    const page = await json<{ data: AuditEntry[] }>(await admin("GET", "/audit?limit=500"), 200);
    const found = page.data.find((entry) => entry.event_id === id);
    if (!found) throw new Error(`audit event ${id} not found`);
    return found;
  }

  return { admin, json, eventOf };
}
