import type { CallContext } from "./types.ts";

const encoder = new TextEncoder();

/**
 * Tells the call's `onMalformedChunk` hook that a stream chunk was skipped. Only the size
 * of its data leaves, in UTF-8 bytes: the content is user data and is never passed on.
 */
export function reportMalformedChunk(context: Pick<CallContext, "onMalformedChunk">, data: string): void {
  context.onMalformedChunk?.({ bytes: encoder.encode(data).byteLength });
}
