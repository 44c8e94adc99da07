import type { FaultRule } from "./rules.ts";

/** `*` as the model: the script for every model of the provider that has none of its own. */
export const anyModel = "*";

export interface ScriptState {
  provider: string;
  model: string;
  rules: FaultRule[];
  /** Index of the rule the next request gets (`rules.length`: the script is used up). */
  position: number;
  /** Requests the current rule has answered so far. */
  used: number;
}

export interface Scripts {
  set(provider: string, model: string, rules: FaultRule[]): void;
  /** The rule for the next request to `provider`/`model`, advancing its script; undefined: answer healthily. */
  next(provider: string, model: string | null): FaultRule | undefined;
  list(): ScriptState[];
  clear(): void;
}

/**
 * Fault scripts per provider and model. A model's own script wins over the provider's `*`
 * script while it is set, used up or not, so a test that scripts one model knows exactly
 * what it gets; a used-up script answers healthily. Lookups are two map reads, whatever
 * the traffic.
 */
export function createScripts(): Scripts {
  const scripts = new Map<string, ScriptState>();
  const key = (provider: string, model: string) => `${provider}\n${model}`;

  return {
    set(provider, model, rules) {
      scripts.set(key(provider, model), { provider, model, rules, position: 0, used: 0 });
    },
    next(provider, model) {
      const script = (model === null ? undefined : scripts.get(key(provider, model))) ?? scripts.get(key(provider, anyModel));
      const rule = script?.rules[script.position];
      if (!script || !rule) return undefined;
      if (rule.times !== undefined && ++script.used >= rule.times) {
        script.position += 1;
        script.used = 0;
      }
      return rule;
    },
    list: () => [...scripts.values()].map((script) => ({ ...script })),
    clear: () => scripts.clear(),
  };
}
