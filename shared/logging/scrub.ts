import { credentialFieldNames } from "./credential-fields.ts";

/**
 * What both tiers' logs do to a record before it is written: credentials scrubbed from free
 * text and credential-named fields redacted. One implementation, so the edge and regional
 * redact by the same rules.
 */

const bearer = /\b(Bearer\s+)[^\s"',]+/gi;
const gatewayKey = /\bbw_[A-Za-z0-9_-]{6,}/g;
// OpenAI (`sk-`, `sk-proj-`), Anthropic (`sk-ant-`), Groq (`gsk_`), xAI (`xai-`): keys as providers echo them in error bodies.
const providerKey = /\b(sk|gsk|xai)([-_])[A-Za-z0-9_-]{12,}/g;
// scheme://user-info@ — the user-info ends at the last @ before the path.
const userInfo = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi;
const credentialQuery = /([?&](?:password|passwd|pass|pwd|token|secret|key|api[-_]?key|access[-_]?token|sslpassword)=)[^&#\s"']*/gi;
// What every pattern here needs: one test spares most values (ids, routes, names) the five replaces.
const mayHoldCredential = /bearer|bw_|sk[-_]|xai[-_]|:\/\/|[?&]/i;

/** Free text with every URL's user-info and credential-looking query values replaced (`postgres://app:<password>@db`, `?token=`). */
export function scrubUrlCredentials(text: string): string {
  return text.replace(userInfo, "$1[redacted]@").replace(credentialQuery, "$1[redacted]");
}

/** Free text without credentials: bearer tokens, gateway and provider keys, passwords in URLs. */
export function scrubText(text: string): string {
  if (!mayHoldCredential.test(text)) return text;
  return scrubUrlCredentials(
    text.replace(bearer, "$1[redacted]").replace(gatewayKey, "bw_[redacted]").replace(providerKey, "$1$2[redacted]"),
  );
}

/**
 * A log record with credentials scrubbed from every string value, errors included, and the
 * values of credential-named fields redacted at any depth, down to depth 6. Copies only what
 * changes: a record without secrets, such as every access-log line, is passed on as it is.
 */
export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrubText(value);
  if (value instanceof Error) return errorRecord(value, depth);
  if (depth > 5 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, index) => {
      const scrubbed = scrub(item, depth + 1);
      if (scrubbed !== item) (copy ??= [...value])[index] = scrubbed;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    const scrubbed = credentialFieldNames.has(key.toLowerCase()) ? "[redacted]" : scrub(item, depth + 1);
    if (scrubbed !== item) (copy ??= { ...value })[key] = scrubbed;
  }
  return copy ?? value;
}

/** An error as a plain record (a thrown Error's own fields do not survive JSON), with its stack for bugs; causes without theirs, which mostly repeat it. */
function errorRecord(error: Error, depth: number, withStack = true): Record<string, unknown> {
  const { code } = error as { code?: unknown };
  const { cause } = error;
  return {
    name: error.name,
    message: scrubText(error.message),
    code,
    stack: withStack && error.stack !== undefined ? scrubText(error.stack) : undefined,
    cause:
      cause === undefined || depth > 5
        ? undefined
        : cause instanceof Error
          ? errorRecord(cause, depth + 1, false)
          : scrub(cause, depth + 1),
  };
}
