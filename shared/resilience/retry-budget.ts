export interface RetryBudgetPolicy {
  /** Retries allowed as a share of first attempts in the window. */
  ratio: number;
  /** Retries always allowed per window, so a quiet provider can still be retried. */
  floor: number;
  windowMs: number;
}

export const defaultRetryBudget: RetryBudgetPolicy = { ratio: 0.2, floor: 5, windowMs: 10_000 };

export interface RetryBudget {
  /** Counts a first attempt. */
  recordRequest(now: number): void;
  /** Takes one retry from the budget, or says there is none left. */
  tryRetry(now: number): boolean;
  /** Retries the window allows now (what operators watch run dry), without taking one. */
  remaining(now: number): number;
}

const bucketCount = 10;

/**
 * Caps retries at `floor + ratio × requests` over a sliding window (ten buckets), so a
 * provider that is down gets at most ~1.2× its traffic instead of a retry storm.
 */
export function createRetryBudget(policy: RetryBudgetPolicy = defaultRetryBudget): RetryBudget {
  const size = Math.max(1, Math.ceil(policy.windowMs / bucketCount));
  const requests = new Array<number>(bucketCount).fill(0);
  const retries = new Array<number>(bucketCount).fill(0);
  let currentSlot = -1;

  function advance(now: number): number {
    const slot = Math.floor(now / size);
    if (currentSlot < 0 || slot - currentSlot >= bucketCount) {
      requests.fill(0);
      retries.fill(0);
    } else {
      for (let s = currentSlot + 1; s <= slot; s++) {
        requests[s % bucketCount] = 0;
        retries[s % bucketCount] = 0;
      }
    }
    currentSlot = Math.max(currentSlot, slot);
    return currentSlot % bucketCount;
  }

  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

  return {
    recordRequest(now) {
      const index = advance(now);
      requests[index] = (requests[index] ?? 0) + 1;
    },
    tryRetry(now) {
      const index = advance(now);
      if (sum(retries) + 1 > policy.floor + policy.ratio * sum(requests)) return false;
      retries[index] = (retries[index] ?? 0) + 1;
      return true;
    },
    remaining(now) {
      advance(now);
      return Math.max(0, Math.floor(policy.floor + policy.ratio * sum(requests)) - sum(retries));
    },
  };
}
