import { request, type Agent } from "node:http";

export interface BurstStreamOptions {
  /** The chat completions URL (through the edge). */
  url: string;
  apiKey: string;
  agent: Agent;
  /** This client hangs up after the first piece of content, on a stream the mock stalls after it. */
  abandon: boolean;
  /** How long the mock holds a kept stream before its first token, so a whole burst is in flight together. */
  firstTokenDelayMs: number;
  /** A stream not ended by then counts as failed; unset, no limit. */
  timeoutMs?: number;
}

/**
 * One streamed chat of a burst, read to its end: `completed` when it ended with `[DONE]`,
 * `abandoned` when its client hung up as asked, else what went wrong.
 */
export function burstStream(options: BurstStreamOptions): Promise<string> {
  const body = JSON.stringify({ model: "mock/echo", stream: true, messages: [{ role: "user", content: "one two three" }] });
  return new Promise((resolve) => {
    const req = request(
      options.url,
      {
        method: "POST",
        agent: options.agent,
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "x-mock-fault": options.abandon ? "stall-after=1" : `first-token-delay=${options.firstTokenDelayMs}`,
        },
      },
      (res) => {
        let text = "";
        res.on("data", (part: Buffer) => {
          text += part.toString("utf8");
          if (options.abandon && text.includes('"content":"')) {
            req.destroy();
            resolve("abandoned");
          }
        });
        res.on("end", () =>
          resolve(res.statusCode === 200 && text.includes("data: [DONE]") ? "completed" : `${res.statusCode}: ${text.slice(0, 300)}`),
        );
        res.on("error", (error) => resolve(`response broke: ${error.message}`));
      },
    );
    req.on("error", (error) => resolve(`request failed: ${error.message}`));
    if (options.timeoutMs !== undefined)
      req.setTimeout(options.timeoutMs, () => {
        req.destroy();
        resolve(`no end within ${options.timeoutMs} ms`);
      });
    req.end(body);
  });
}
