import { posix } from "node:path";
import type { InfraTree, TfModule } from "./hcl.ts";
import type { ProviderSchema } from "./provider-schema.ts";
import type { TypeShape } from "./variable-types.ts";

/** Everything a check reads, loaded once per test run. */
export interface CheckContext {
  tree: InfraTree;
  /** By registry source, e.g. `hashicorp/aws`. */
  schemas: Map<string, ProviderSchema>;
  functions: ReadonlySet<string>;
  /** `dir` → variable name → its type constraint. */
  variableTypes: Map<string, Map<string, TypeShape>>;
}

/** The module a `module` block calls, when its source is a path inside the tree. */
export function calledModule(context: CheckContext, caller: TfModule, source: unknown): TfModule | undefined {
  if (typeof source !== "string" || !source.startsWith(".")) return undefined;
  const dir = posix.normalize(posix.join(caller.dir, source));
  return context.tree.modules.get(dir);
}

/** Who calls a module: every `module` block of the tree whose source resolves to it. */
export function callersOf(context: CheckContext, target: TfModule): { caller: TfModule; name: string }[] {
  const callers: { caller: TfModule; name: string }[] = [];
  for (const caller of context.tree.modules.values()) {
    for (const [name, call] of caller.moduleCalls) {
      if (calledModule(context, caller, call.body.source) === target) callers.push({ caller, name });
    }
  }
  return callers;
}

/** `aws_vpc` → `aws`: the provider local name a resource type belongs to. */
export function providerLocalName(type: string): string {
  return type.split("_")[0] ?? type;
}

/** The module's required_providers: local name → source. */
export function requiredSources(module: TfModule): Map<string, string> {
  const sources = new Map<string, string>();
  for (const { body } of module.terraform) {
    const required = body.required_providers;
    for (const block of Array.isArray(required) ? required : [required]) {
      if (typeof block !== "object" || block === null || Array.isArray(block)) continue;
      for (const [name, entry] of Object.entries(block)) {
        if (typeof entry === "object" && entry !== null && !Array.isArray(entry) && typeof entry.source === "string")
          sources.set(name, entry.source);
      }
    }
  }
  return sources;
}

export function schemaFor(context: CheckContext, module: TfModule, type: string): ProviderSchema | undefined {
  const source = requiredSources(module).get(providerLocalName(type));
  return source ? context.schemas.get(source) : undefined;
}
