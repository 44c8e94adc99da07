/**
 * W3C trace context at the edge (https://www.w3.org/TR/trace-context/). The edge records no
 * spans of its own; it continues the client's trace, or starts one, under a span id of its
 * own, so regional, the providers and every log line share one trace id. Never trusted for
 * anything but correlation: it is not signed, and regional reads nothing else from it.
 */
export interface Trace {
  /** 32 lowercase hex digits, not all zeros. */
  traceId: string;
  /** The edge's span: the parent of regional's. */
  spanId: string;
  /**
   * `01` sampled, `00` not: the client's, or for a trace the edge starts its own decision (a
   * share `TRACE_SAMPLE_RATIO` of them, by trace id), which regional's parent-based sampler follows.
   */
  flags: string;
  /** The client's vendor state, passed on only with its valid `traceparent`. */
  tracestate: string | undefined;
}

const traceparentFormat = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const zeros = /^0+$/;
/** The spec's bound on what a vendor must pass on; a longer one is dropped rather than cut mid-entry. */
const maxTracestateLength = 512;

/**
 * The client's trace continued under a new edge span, or (no valid `traceparent`) a new trace,
 * sampled for a share `sampleRatio` of trace ids.
 */
export function traceOf(traceparent: string | undefined, tracestate: string | undefined, sampleRatio = 1): Trace {
  const match = traceparentFormat.exec(traceparent?.trim() ?? "");
  const traceId = match?.[1];
  const parentId = match?.[2];
  if (!match || !traceId || !parentId || zeros.test(traceId) || zeros.test(parentId)) {
    const started = randomHex(16);
    return { traceId: started, spanId: randomHex(8), flags: sampledShare(started, sampleRatio) ? "01" : "00", tracestate: undefined };
  }
  const state = tracestate?.trim();
  return {
    traceId,
    spanId: randomHex(8),
    // Only the sampled bit is defined in version 00; the rest are passed on as zeros.
    flags: (Number.parseInt(match[3] ?? "0", 16) & 1) === 1 ? "01" : "00",
    tracestate: state && state.length <= maxTracestateLength ? state : undefined,
  };
}

/** The headers every call to an origin carries: `traceparent` naming the edge's span, and the client's `tracestate`. */
export function traceHeaders(trace: Trace): Record<string, string> {
  const traceparent = `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
  return trace.tracestate === undefined ? { traceparent } : { traceparent, tracestate: trace.tracestate };
}

/**
 * Whether a new trace falls in the sampled share: its id's last 56 bits (random, as W3C Trace
 * Context level 2 asks of them) read as a fraction of their range.
 */
function sampledShare(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  return Number.parseInt(traceId.slice(-14), 16) / 2 ** 56 < ratio;
}

function randomHex(bytes: number): string {
  let hex = "";
  for (const byte of crypto.getRandomValues(new Uint8Array(bytes))) hex += byte.toString(16).padStart(2, "0");
  // All zeros is invalid; with 64 or 128 random bits it is as likely as a collision, but costs one test.
  return zeros.test(hex) ? randomHex(bytes) : hex;
}
