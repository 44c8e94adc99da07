/**
 * The largest upload (a multipart or binary request body, streamed rather than read whole)
 * both tiers accept unless `MAX_UPLOAD_BYTES` says otherwise: OpenAI's own limit for an
 * audio file. JSON bodies keep the far smaller `MAX_BODY_BYTES`.
 */
export const defaultMaxUploadBytes = 25 * 1024 * 1024;

/** The most `MAX_UPLOAD_BYTES` may be set to: regional keeps one copy of each upload in memory for retries. */
export const maxUploadBytesCeiling = 512 * 1024 * 1024;
