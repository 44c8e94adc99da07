// What test/edge/fake-origin.ts hands to the edge config and tests through `inject()`.
declare module "vitest" {
  export interface ProvidedContext {
    originPort: number;
    /** The secret the Worker under test signs origin calls with (EDGE_SIGNING_SECRET). */
    signingSecret: string;
    /** A key the fake origin knows, with limits no test reaches. */
    defaultApiKey: string;
  }
}

export {};
