import autocannon from "autocannon";
import { chatBody, type Target } from "./target.ts";

/** Throughput under concurrency, measured by autocannon (latencies in whole milliseconds). */
export interface LoadResult {
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  requests: number;
  reqPerSec: number;
  non2xx: number;
  errors: number;
}

export async function loadChat(target: Target, connections: number, durationS: number, warmupS: number): Promise<LoadResult> {
  if (warmupS > 0) await fire(target, connections, warmupS);
  const result = await fire(target, connections, durationS);
  return {
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    meanMs: result.latency.mean,
    requests: result.requests.total,
    reqPerSec: result.duration > 0 ? result["2xx"] / result.duration : 0,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

let nonceCounter = 0;

function fire(target: Target, connections: number, durationS: number): Promise<autocannon.Result> {
  return autocannon({
    url: target.url,
    method: "POST",
    connections,
    duration: durationS,
    headers: { ...target.headers, "content-type": "application/json" },
    timeout: 30,
    // A fresh body per request, so no cache tier can answer it. (Not `idReplacement`: autocannon 8
    // sizes Content-Length for longer ids than its hyperid makes, and the server waits for bytes
    // that never come.)
    requests: [
      {
        setupRequest: (request) => ({ ...request, body: chatBody(target.model, `load-${process.pid}-${++nonceCounter}`, false) }),
      },
    ],
  });
}
