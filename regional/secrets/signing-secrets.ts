import type { SecretsManagerRef } from "./live-secret.ts";
import type { Secrets } from "./secrets.ts";

/**
 * The secrets a request from the edge may be signed with. While one rotates, both the
 * current and the previous version are accepted, so neither tier has to switch at the same
 * moment as the other.
 */
export interface SigningSecrets {
  /** The current secret first. */
  accepted(): readonly string[];
  /**
   * After a signature none of them verified: reads them again (the edge may already sign
   * with a version this instance has not seen) and returns them all, the current first.
   * Refusals close together share one read, so bad signatures cannot flood Secrets Manager.
   */
  refreshed(): Promise<readonly string[]>;
}

/** One secret that never changes (a plain EDGE_SIGNING_SECRET value, tests). */
export function fixedSigningSecrets(secret: string): SigningSecrets {
  const accepted = [secret] as const;
  return { accepted: () => accepted, refreshed: async () => accepted };
}

/** EDGE_SIGNING_SECRET as a Secrets Manager reference: its AWSCURRENT and AWSPREVIOUS versions. */
export function rotatingSigningSecrets(secrets: Secrets, ref: SecretsManagerRef): SigningSecrets {
  const current = secrets.secret(ref, "AWSCURRENT", "EDGE_SIGNING_SECRET");
  const previous = secrets.secret(ref, "AWSPREVIOUS", "EDGE_SIGNING_SECRET");
  // Rebuilt only when a value changed, so a request allocates nothing to learn them.
  let cached: { current: string | undefined; previous: string | undefined; list: readonly string[] } | undefined;
  const listOf = (now: string | undefined, before: string | undefined): readonly string[] => {
    if (cached === undefined || cached.current !== now || cached.previous !== before) {
      cached = {
        current: now,
        previous: before,
        list: [now, before].filter((value, index, all): value is string => value !== undefined && all.indexOf(value) === index),
      };
    }
    return cached.list;
  };
  return {
    accepted: () => listOf(current.current(), previous.current()),
    async refreshed() {
      const reason = "an edge signature matched no known version";
      const [now, before] = await Promise.all([current.refresh(reason), previous.refresh(reason)]);
      return listOf(now, before);
    },
  };
}
