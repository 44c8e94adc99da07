import { z } from "zod";

import { budget } from "./budgets.ts";

/** Requests and tokens per minute. */
export const rateLimits = z.object({
  rpm: z.int().positive(),
  tpm: z.int().positive(),
});

/**
 * What the edge needs to know of an API key, as the regional tier's signed internal
 * endpoint `GET /internal/keys/:sha256` answers it (404 for a key it never issued). The
 * edge caches it by the key's hash; the key itself never leaves the edge.
 */
export const keyRecord = z.object({
  key_id: z.string().min(1),
  tenant_id: z.string().min(1),
  /** The key's first characters (`bw_` + 8), to show people which key. */
  prefix: z.string(),
  /** Only `active` keys are let through. */
  status: z.enum(["active", "revoked", "tenant_disabled"]),
  limits: rateLimits,
  tenant_limits: rateLimits,
  /** The key's own budgets and its tenant's; records cached before budgets existed parse as none. */
  budgets: z.array(budget).default([]),
});

export type RateLimits = z.infer<typeof rateLimits>;
export type KeyRecord = z.infer<typeof keyRecord>;
