const validRequestId = /^[A-Za-z0-9._:-]{8,128}$/;

/** Keeps a client's request id when it is safe to echo and log, else makes a new one. */
export function requestIdFrom(header: string | null | undefined): string {
  if (header && validRequestId.test(header)) return header;
  return crypto.randomUUID();
}
