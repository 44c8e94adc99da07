import { untilAborted as unlessAborted } from "../../../shared/resilience/deadline.ts";
import { connectionReset } from "./connection.ts";
import type { MockUpstream } from "./server.ts";

/**
 * A `fetch` that calls the mock upstream's app in this process, adding the call's fault
 * spec as the `x-mock-fault` header. It fails the way Node's fetch does: with the signal's
 * reason on abort, and `TypeError: fetch failed` (cause ECONNRESET) on a reset.
 */
export function inProcessFetch(upstream: MockUpstream, fault?: string): typeof fetch {
  return async function mockFetch(input, init) {
    const request = new Request(input, init);
    if (fault !== undefined) request.headers.set("x-mock-fault", fault);
    let reset = false;
    const signal = init?.signal ?? request.signal;
    const answer = Promise.resolve(upstream.app.fetch(request, { reset: () => (reset = true), signal }));
    const response = await unlessAborted(answer, signal);
    if (reset) {
      await response.body?.cancel();
      throw connectionReset();
    }
    return response;
  };
}
