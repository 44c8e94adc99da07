/**
 * A request body the edge streams to the origin instead of reading it whole: an upload (a
 * multipart form, audio bytes). An isolate has 128 MB for every request it serves at once,
 * so an upload passes through a chunk at a time and is never held here.
 */
export interface StreamedUpload {
  /** The bytes, as they arrive from the client. */
  stream: ReadableStream<Uint8Array>;
  /** The byte count the client declared (Content-Length), when it declared one: the stream carries exactly that many. */
  length: number | undefined;
  /** Aborts, with 413 `payload_too_large` as its reason, the moment the bytes pass the limit (a body without a declared length). */
  overflow: AbortSignal;
}
