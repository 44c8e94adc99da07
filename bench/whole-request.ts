import { request, type Agent, type IncomingHttpHeaders } from "node:http";

export interface WholeAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** `performance.now()` when the request was sent and when the answer's last byte arrived. */
  startedAt: number;
  endedAt: number;
}

/** One request over `agent`, its answer read whole, timed from sending to the last byte; rejects on a connection error. */
export function requestWhole(
  agent: Agent,
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | null,
): Promise<WholeAnswer> {
  const target = new URL(url);
  const payload = Buffer.from(body ?? "");
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const req = request(
      {
        agent,
        method,
        hostname: target.hostname,
        port: target.port,
        path: target.pathname,
        headers: { ...headers, "content-length": payload.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            startedAt,
            endedAt: performance.now(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}
