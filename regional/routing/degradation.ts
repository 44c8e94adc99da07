import { GatewayError } from "../../shared/error.ts";
import type { Degradation, RoutesFile } from "../routes-file.ts";

export type DegradationMode = Degradation["mode"];

/** Says on the answer how the route degraded: `fallback_model`, `reduce_max_tokens`, `stale` or `fail_fast`. */
export const degradedHeader = "x-breakwater-degraded";

export const degradedBy = (mode: DegradationMode | undefined): Record<string, string> => (mode ? { [degradedHeader]: mode } : {});

/** Each route's degradation, from the routes file, changed at run time by `PUT /admin/degradation`. */
export interface Degradations {
  of(route: string): Degradation | undefined;
  /** Sets (or with null clears) a route's degradation; what it was before. */
  set(route: string, degradation: Degradation | null): Degradation | null;
  list(): Array<{ route: string; degradation: Degradation | null }>;
}

/**
 * Degradations for the routes of `file`. `known` says which names may be degraded (a route or
 * a plain `provider/model`) and which a `fallback_model` may name; a fallback is checked once
 * here and again at each change, so a typo stops start-up or is refused with 400.
 */
export function createDegradations(file: RoutesFile, known: (model: string) => boolean): Degradations {
  const table = new Map<string, Degradation>();
  const checked = (route: string, degradation: Degradation): Degradation => {
    if (degradation.mode !== "fallback_model") return degradation;
    if (degradation.model === route) throw new Error(`a route cannot fall back to itself ('${route}')`);
    if (!known(degradation.model)) throw new Error(`no route or provider model '${degradation.model}'`);
    return degradation;
  };
  for (const [route, config] of Object.entries(file.routes)) {
    if (!config.degradation) continue;
    try {
      table.set(route, checked(route, config.degradation));
    } catch (error) {
      throw new Error(`Routes file: routes.${route}.degradation.model: ${(error as Error).message}`, { cause: error });
    }
  }
  return {
    of: (route) => table.get(route),
    set(route, degradation) {
      if (!known(route)) throw new GatewayError("not_found", { message: `No route or provider model '${route}'.`, param: "route" });
      if (degradation) {
        try {
          checked(route, degradation);
        } catch (error) {
          throw new GatewayError("invalid_request", { message: (error as Error).message, param: "model" });
        }
      }
      const before = table.get(route) ?? null;
      if (degradation) table.set(route, degradation);
      else table.delete(route);
      return before;
    },
    list: () =>
      [...new Set([...Object.keys(file.routes), ...table.keys()])]
        .sort()
        .map((route) => ({ route, degradation: table.get(route) ?? null })),
  };
}

/**
 * The route could not serve: shed by its queue with 503 (a tenant over its share is not
 * degraded: it is told to back off), or every target down, saturated or failing. Answers the
 * client's request got wrong, and our own bugs, are never degraded.
 */
export function unserved(error: unknown): error is GatewayError {
  return error instanceof GatewayError && error.status >= 500 && error.code !== "internal_error";
}

/** The client's completion-token ask capped at `maxTokens`; undefined when it already asked for no more. */
export function cappedTokens<T extends { max_tokens?: number | null; max_completion_tokens?: number | null }>(
  request: T,
  maxTokens: number,
): T | undefined {
  const asked = request.max_completion_tokens ?? request.max_tokens;
  if (typeof asked === "number" && asked <= maxTokens) return undefined;
  return typeof request.max_completion_tokens === "number"
    ? { ...request, max_completion_tokens: maxTokens }
    : { ...request, max_tokens: maxTokens };
}
