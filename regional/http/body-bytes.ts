import { readBodyLimited } from "../../shared/read-body.ts";

/** The request body, at most `maxBytes` (413 beyond); empty when there is none. */
export async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  return (await readBodyLimited(request, maxBytes)) ?? new Uint8Array(0);
}
