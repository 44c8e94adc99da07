import { z } from "zod";

/**
 * The JSON endpoints forwarded as they are (Responses API, completions, images, speech,
 * moderations): the gateway reads only what it routes and meters by, and passes the rest on.
 */
export const forwardedJsonRequest = z.looseObject({
  model: z.string().min(1),
  stream: z.boolean().nullish(),
});

export type ForwardedJsonRequest = z.infer<typeof forwardedJsonRequest>;
