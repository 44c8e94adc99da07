import { priceSheet, type PriceSheet } from "../../shared/contract/budgets.ts";
import { readUpTo } from "../../shared/read-body.ts";
import { errorText, log, type RequestIds } from "../log.ts";
import type { BreakerContext } from "../origins/breakers.ts";
import { withFailover } from "../origins/failover.ts";
import { signatureHeaders } from "../origins/signature.ts";
import type { Settings } from "../settings.ts";
import { traceHeaders, type Trace } from "../trace.ts";

/** What reading the price sheet from regional takes. */
export interface PriceContext extends RequestIds {
  settings: Pick<Settings, "signingSecret" | "origins" | "originTimeoutMs">;
  breakers: BreakerContext;
  trace: Trace;
}

const path = "/internal/prices";
/** Prices change with a deploy of regional's configuration, not by the second. */
const freshMs = 60_000;
/** After a failed read, the next is tried this much later (meanwhile the last sheet read stands, or the default amount). */
const retryMs = 5_000;
const lookupTimeoutMs = 2_000;
const maxSheetBytes = 1024 * 1024;

/** This isolate's copy: plain data, so any request may use it (a promise could not be shared across requests). */
let cached: { sheet: PriceSheet | null; until: number } | undefined;
/** When a request of this isolate started reading the sheet again (undefined: none is); past the read's timeout, another may. */
let refreshingSince: number | undefined;

/**
 * Regional's price sheet (`GET /internal/prices`: per model the highest input and output
 * price of any provider serving it), kept in this isolate for a minute. Once that minute is
 * up, one request reads it again while the others go on with the sheet they had, so an
 * isolate makes one read a minute however many requests find it expired. When a read fails,
 * the last sheet read stays in use (prices change with regional's configuration, rarely);
 * null when none was ever read: budgets in money then reserve the configured default per
 * request. Either way the request goes on.
 */
export async function currentPrices(context: PriceContext): Promise<PriceSheet | null> {
  const now = Date.now();
  if (cached && cached.until > now) return cached.sheet;
  if (cached?.sheet && refreshingSince !== undefined && now - refreshingSince < lookupTimeoutMs) return cached.sheet;
  refreshingSince = now;
  try {
    const sheet = await fromRegional(context);
    cached = { sheet, until: Date.now() + freshMs };
    return sheet;
  } catch (error) {
    log("warn", "could not read the price sheet", context, { error: errorText(error) });
    cached = { sheet: cached?.sheet ?? null, until: Date.now() + retryMs };
    return cached.sheet;
  } finally {
    refreshingSince = undefined;
  }
}

async function fromRegional(context: PriceContext): Promise<PriceSheet> {
  const { settings } = context;
  const headers = await signatureHeaders(settings.signingSecret, { method: "GET", pathAndQuery: path, body: null, vouched: {} });
  const { response } = await withFailover(context.breakers, settings.origins, {
    pathAndQuery: path,
    init: { headers: { ...headers, ...traceHeaders(context.trace), "x-request-id": context.requestId } },
    timeoutMs: Math.min(lookupTimeoutMs, settings.originTimeoutMs),
  });
  const read = response.body ? await readUpTo(response.body, maxSheetBytes) : { complete: true as const, bytes: new Uint8Array(0) };
  if (!read.complete) {
    await read.body.cancel();
    throw new Error(`the price sheet is larger than ${maxSheetBytes} bytes`);
  }
  const text = new TextDecoder().decode(read.bytes);
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return priceSheet.parse(JSON.parse(text));
}
