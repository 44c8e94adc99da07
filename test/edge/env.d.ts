import type { Env as EdgeEnv } from "../../edge/env.ts";

declare global {
  namespace Cloudflare {
    // `env` from "cloudflare:workers" holds the edge's bindings.
    interface Env extends EdgeEnv {}
    interface GlobalProps {
      // Types `exports.default` from "cloudflare:workers" as the edge's Worker entry.
      mainModule: typeof import("../../edge/index.ts");
    }
  }
}
