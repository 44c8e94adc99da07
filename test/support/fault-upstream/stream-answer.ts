import type { ServerResponse } from "node:http";
import { malformedFrame, pieceAt, streamFrames, type Answer } from "./openai-wire.ts";
import type { RequestRecord } from "./records.ts";
import type { FaultRule } from "./rules.ts";
import { sleep, untilGone } from "./wait.ts";

/** `holdStream` without an `intervalMs`: slow enough to be cheap, fast enough to notice a hang-up. */
const holdIntervalMs = 100;

/**
 * Streams `answer` as OpenAI's SSE, shaped by `rule`: a first-token delay after the
 * headers, gaps between chunks, and an ending (cut, stall, endless hold, or the usual
 * finish chunk, usage chunk when asked, `data: [DONE]`). Points counted in content chunks
 * are capped at the answer's length, so a cut or stall always happens.
 */
export async function streamAnswer(
  response: ServerResponse,
  record: RequestRecord,
  rule: FaultRule,
  answer: Answer,
  includeUsage: boolean,
  signal: AbortSignal,
  now: () => number,
): Promise<void> {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  response.flushHeaders();
  record.status = 200;
  record.headersAt = now();
  if (!(await sleep(rule.firstTokenDelayMs ?? 0, signal))) return;

  const frames = streamFrames(answer, includeUsage);
  const total = answer.pieces.length;
  const at = (count: number | undefined) => (count === undefined ? undefined : Math.min(count, total));
  const [cutAt, stallAt, malformedAt] = [at(rule.cutAfter), at(rule.stallAfter), at(rule.malformedAfter)];
  const intervalMs = rule.intervalMs ?? (rule.holdStream ? holdIntervalMs : 0);
  let flushed = write(response, frames.role);

  for (let index = 0; rule.holdStream || index <= total; index++) {
    if (index === malformedAt) flushed = write(response, malformedFrame);
    if (index === cutAt) {
      // Destroyed only once the chunks before are out: a reset could make the client's
      // kernel drop data it has received but not yet read, and the count would be wrong.
      await flushed;
      record.outcome = "cut";
      response.socket?.destroy();
      return;
    }
    if (index === stallAt) {
      await untilGone(signal);
      return;
    }
    if (index === total && !rule.holdStream) break;
    if (index > 0 && !(await sleep(intervalMs, signal))) return;
    flushed = write(response, frames.content(pieceAt(answer.pieces, index)));
    record.chunks += 1;
  }
  response.write(frames.finish(answer.finishReason));
  if (includeUsage) response.write(frames.usage(record.chunks));
  response.end(frames.done);
}

/** Resolves once `data` is handed to the socket (or the write failed: the client left). */
function write(response: ServerResponse, data: string): Promise<void> {
  return new Promise((resolve) => response.write(data, () => resolve()));
}
