import type { Logger } from "../logger.ts";

/** Secrets Manager's version labels: rotation stages a new value as PENDING, then moves CURRENT and PREVIOUS. */
export type VersionStage = "AWSCURRENT" | "AWSPREVIOUS" | "AWSPENDING";

export interface SecretVersion {
  /** The secret's text (SecretString). Never logged. */
  value: string;
  versionId: string;
}

/** Reads one version of a secret; null when the secret has no version at that stage. */
export type SecretSource = (name: string, stage: VersionStage) => Promise<SecretVersion | null>;

export interface SecretStoreOptions {
  source: SecretSource;
  /** How long a version read is served from memory before it is read again. */
  ttlMs: number;
  /** Up to this fraction of the TTL is added at random, so instances started together do not all read at once. */
  jitter?: number;
  /** Forced reads (after a 401, a 28P01, a signature no secret verifies) closer together than this share one call. */
  minRefreshIntervalMs?: number;
  /** After a failed read the last good value is served and the next read waits this long. */
  retryAfterFailureMs?: number;
  logger: Logger;
  now?: () => number;
  random?: () => number;
}

export interface SecretStoreStats {
  /** Calls made to Secrets Manager. */
  reads: number;
  /** Calls that failed (unreachable, throttled past the SDK's retries, refused). */
  failures: number;
  /** Failed calls answered with the last good value instead. */
  lastGoodServed: number;
}

/** One version stage of one secret in the store; taken once, so a lookup builds no key. */
export interface StoredSecret {
  /** The version in memory, without waiting; undefined before the first read. A stale one is read again in the background. */
  peek(): SecretVersion | null | undefined;
  /** The version in memory, or read now when there is none yet; only the first read of a secret waits. */
  get(): Promise<SecretVersion | null>;
  /** Reads again now: joins a read in flight, and shares one finished within `minRefreshIntervalMs`. */
  refresh(reason: string): Promise<SecretVersion | null>;
  /** When it was last read, without its value. */
  freshness(): SecretReadState;
}

export interface SecretReadState {
  /** When Secrets Manager last answered for it, in ms since the epoch (the store's clock); null if it never did. */
  lastReadAt: number | null;
  /** The last read failed: the last good value is still in use and the read is tried again later. */
  lastReadFailed: boolean;
}

export interface SecretStore {
  secret(name: string, stage: VersionStage): StoredSecret;
  stats(): SecretStoreStats;
}

interface Entry {
  name: string;
  stage: VersionStage;
  /** undefined: never read successfully; null: read, and the secret has no such version. */
  version: SecretVersion | null | undefined;
  expiresAt: number;
  /** When the last read, good or failed, finished. */
  readAt: number;
  /** When the last good read finished; null before one. */
  goodAt: number | null;
  lastFailed: boolean;
  inFlight: Promise<SecretVersion | null> | undefined;
}

/**
 * Secrets Manager behind a cache: each version is read once and kept for the TTL plus
 * jitter; concurrent reads of one version make one call; a stale version keeps being served
 * while it is read again in the background, so no request waits on Secrets Manager after
 * start; and when Secrets Manager cannot be reached the last good value stays in use
 * (logged and counted). Values never reach a log line.
 */
export function createSecretStore(options: SecretStoreOptions): SecretStore {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const jitter = options.jitter ?? 0.1;
  const minRefreshIntervalMs = options.minRefreshIntervalMs ?? 1_000;
  const retryAfterFailureMs = options.retryAfterFailureMs ?? Math.min(options.ttlMs, 10_000);
  const entries = new Map<string, Entry>();
  const stats: SecretStoreStats = { reads: 0, failures: 0, lastGoodServed: 0 };

  const entryOf = (name: string, stage: VersionStage): Entry => {
    const key = `${stage}\u0000${name}`;
    let entry = entries.get(key);
    if (!entry) {
      entry = {
        name,
        stage,
        version: undefined,
        expiresAt: 0,
        readAt: Number.NEGATIVE_INFINITY,
        goodAt: null,
        lastFailed: false,
        inFlight: undefined,
      };
      entries.set(key, entry);
    }
    return entry;
  };

  function read(entry: Entry): Promise<SecretVersion | null> {
    entry.inFlight ??= (async () => {
      stats.reads += 1;
      try {
        const version = await options.source(entry.name, entry.stage);
        // The same text again keeps the same object, so values derived from it stay cached.
        entry.version = sameVersion(entry.version, version) ? entry.version : version;
        entry.expiresAt = now() + options.ttlMs * (1 + jitter * random());
        entry.goodAt = now();
        entry.lastFailed = false;
        return entry.version ?? null;
      } catch (error) {
        stats.failures += 1;
        entry.lastFailed = true;
        entry.expiresAt = now() + retryAfterFailureMs;
        const reference = `secretsmanager:${entry.name} (${entry.stage})`;
        if (entry.version === undefined) throw new Error(`${reference} could not be read: ${describe(error)}`, { cause: error });
        stats.lastGoodServed += 1;
        options.logger.warn("Secrets Manager could not be read; the last good value stays in use", {
          reference,
          error: describe(error),
          failures: stats.failures,
        });
        return entry.version;
      } finally {
        entry.readAt = now();
        entry.inFlight = undefined;
      }
    })();
    return entry.inFlight;
  }

  const readInBackground = (entry: Entry): void => {
    // A failure is logged by read(); with no good value yet, the next get() reports it.
    if (!entry.inFlight) read(entry).catch(() => {});
  };

  return {
    secret(name, stage) {
      const entry = entryOf(name, stage);
      return {
        peek() {
          if (entry.expiresAt <= now()) readInBackground(entry);
          return entry.version;
        },

        async get() {
          if (entry.version === undefined) return await read(entry);
          if (entry.expiresAt <= now()) readInBackground(entry);
          return entry.version;
        },

        async refresh(reason) {
          if (entry.inFlight) return await entry.inFlight;
          if (entry.version !== undefined && now() - entry.readAt < minRefreshIntervalMs) return entry.version;
          options.logger.info("reading a secret again", { reference: `secretsmanager:${name} (${stage})`, reason });
          return await read(entry);
        },

        freshness: () => ({ lastReadAt: entry.goodAt, lastReadFailed: entry.lastFailed }),
      };
    },

    stats: () => ({ ...stats }),
  };
}

function sameVersion(known: SecretVersion | null | undefined, read: SecretVersion | null): boolean {
  if (known === undefined) return false;
  if (known === null || read === null) return known === read;
  return known.versionId === read.versionId && known.value === read.value;
}

/** What went wrong, by the SDK's error name and message: they name the secret, never its value. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message;
}
