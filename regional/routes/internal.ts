import { Hono } from "hono";
import { GatewayError } from "../../shared/error.ts";
import type { AppDeps } from "../deps.ts";
import { findKeyRecord } from "../auth/key-records.ts";
import type { AppEnv } from "../http/context.ts";
import { readJson } from "../http/json-body.ts";
import { edgeIncidents, incidentPost, maxIncidentPostBytes } from "../status/incident-post.ts";
import { buildOperatorStatus, buildPublicStatus } from "../status/status.ts";

/** Endpoints only the edge calls, behind the edge signature (see app.ts). */
export function internalRoute(deps: AppDeps): Hono<AppEnv> {
  return (
    new Hono<AppEnv>()
      .get("/keys/:sha256{[0-9a-f]{64}}", async (c) => {
        const record = await findKeyRecord(deps.db, Buffer.from(c.req.param("sha256"), "hex"));
        if (!record) throw new GatewayError("not_found", { message: "No key has this hash." });
        return c.json(record, 200, { "cache-control": "no-store" });
      })
      // Per model the highest input and output price of any target, for the edge's budget reservations.
      .get("/prices", (c) => c.json(deps.prices?.sheet() ?? { models: {} }, 200, { "cache-control": "no-store" }))
      // The status page's data; the edge caches and renders it (shared/status/).
      .get("/status", async (c) => c.json(await buildPublicStatus(deps), 200, { "cache-control": "no-store" }))
      .get("/status/operator", async (c) => c.json(await buildOperatorStatus(deps), 200, { "cache-control": "no-store" }))
      // The edge's own origin breaker transitions and failovers, kept with regional's in the incident history.
      .post("/incidents", async (c) => {
        const incidents = deps.incidents;
        if (!incidents) throw new GatewayError("unavailable", { message: "No incident history here." });
        // The signature check read the body already (up to MAX_BODY_BYTES); incidents take far less.
        const size = c.get("body")?.byteLength ?? Number(c.req.header("content-length") ?? 0);
        if (size > maxIncidentPostBytes)
          throw new GatewayError("payload_too_large", { message: `At most ${maxIncidentPostBytes} bytes of incidents.` });
        const accepted = edgeIncidents(await readJson(c, incidentPost, maxIncidentPostBytes), Date.now());
        for (const incident of accepted) incidents.record(incident);
        return c.json({ accepted: accepted.length }, 202);
      })
  );
}
