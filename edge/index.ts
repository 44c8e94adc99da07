import { createApp } from "./app.ts";
import type { Env } from "./env.ts";

const app = createApp();

/** The Worker entry; Durable Object classes will be exported from here too. */
export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
