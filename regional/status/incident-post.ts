import { z } from "zod";
import { incidentKinds } from "../../shared/status/types.ts";
import type { Incident } from "./incidents.ts";

/** Most bytes of one `POST /internal/incidents` body: a few dozen transitions, never a log dump. */
export const maxIncidentPostBytes = 64 * 1024;

const maxAgeMs = 24 * 60 * 60 * 1000;
const maxAheadMs = 5 * 60 * 1000;
// An origin, provider or provider/model name: no spaces, no free text where tenant data could hide.
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/, "a provider, provider/model or origin name");
const scalar = z.union([z.string().max(200), z.number(), z.boolean(), z.null()]);

/** What the edge posts: its own origin breakers' transitions and failovers, each within the last day. */
export const incidentPost = z.strictObject({
  incidents: z
    .array(
      z.strictObject({
        at: z.iso.datetime({ offset: true }),
        kind: z.enum(incidentKinds),
        subject: name,
        /** Where the edge saw it (its location), if it says. */
        region: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .optional(),
        detail: z
          .record(z.string().regex(/^[a-z_]{1,40}$/), scalar)
          .refine((detail) => Object.keys(detail).length <= 10, "at most 10 fields")
          .optional(),
      }),
    )
    .min(1)
    .max(100),
});

/** The posted incidents as edge incidents; those outside the last day (or from the future, past clock skew) are left out. */
export function edgeIncidents(post: z.infer<typeof incidentPost>, now: number): Incident[] {
  return post.incidents.flatMap((incident) => {
    const at = Date.parse(incident.at);
    if (at < now - maxAgeMs || at > now + maxAheadMs) return [];
    return [
      {
        at: new Date(at),
        tier: "edge" as const,
        kind: incident.kind,
        subject: incident.subject,
        detail: incident.detail ?? {},
        region: incident.region ?? null,
      },
    ];
  });
}
