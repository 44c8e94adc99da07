import { calledModule, requiredSources, type CheckContext } from "./check-context.ts";
import { bodies, isObject, type HclObject, type HclValue, type TfModule } from "./hcl.ts";
import type { TypeShape } from "./variable-types.ts";

const metaArguments = new Set(["source", "version", "providers", "count", "for_each", "depends_on"]);

const exactReference = /^\$\{([A-Za-z0-9_.-]+)\}$/;

/** An argument's literal value, looking through `local.x` so a root's locals are checked too. */
function literalValue(module: TfModule, value: HclValue | undefined): HclValue | undefined {
  if (typeof value !== "string") return value;
  const reference = exactReference.exec(value)?.[1];
  if (!reference?.startsWith("local.")) return value;
  return module.locals.get(reference.slice("local.".length))?.body;
}

/** An object literal against an object type: no attribute the type lacks, none it requires missing. */
function shapeProblems(module: TfModule, value: HclValue | undefined, shape: TypeShape | undefined, label: string): string[] {
  const literal = literalValue(module, value);
  if (!shape || shape.kind !== "object" || !isObject(literal)) return [];
  const problems: string[] = [];
  for (const key of Object.keys(literal)) {
    if (!shape.attributes.has(key) && !key.includes("${")) problems.push(`${label} sets "${key}", which its type does not have`);
  }
  for (const [name, attribute] of shape.attributes) {
    if (!(name in literal)) {
      if (!attribute.optional) problems.push(`${label} lacks "${name}", which its type requires`);
      continue;
    }
    problems.push(...shapeProblems(module, literal[name], attribute.shape, `${label}.${name}`));
  }
  return problems;
}

/** Provider configurations a module can hand on or use: its own blocks, aliases it receives, and each required provider's default. */
export function availableProviders(module: TfModule): Set<string> {
  const names = new Set<string>([...module.providers.keys(), ...requiredSources(module).keys()]);
  for (const { body } of module.terraform) {
    for (const required of bodies(body.required_providers)) {
      for (const entry of Object.values(required)) {
        if (!isObject(entry)) continue;
        const aliases = entry.configuration_aliases;
        for (const alias of Array.isArray(aliases) ? aliases : []) {
          if (typeof alias === "string") names.add(alias.replace(/^\$\{|\}$/g, ""));
        }
      }
    }
  }
  return names;
}

function providersProblems(caller: TfModule, target: TfModule, providers: HclValue | undefined, label: string): string[] {
  if (!isObject(providers)) return [];
  const problems: string[] = [];
  const given = availableProviders(caller);
  const wanted = availableProviders(target);
  for (const [key, value] of Object.entries(providers)) {
    if (!wanted.has(key)) problems.push(`${label} passes provider "${key}", which ${target.dir} neither requires nor aliases`);
    const name = typeof value === "string" ? value.replace(/^\$\{|\}$/g, "") : "";
    if (!given.has(name)) problems.push(`${label} passes provider "${name}", which is not configured here`);
  }
  return problems;
}

function callProblems(context: CheckContext, caller: TfModule, name: string, call: HclObject, file: string): string[] {
  const label = `${file}: module ${name}`;
  const target = calledModule(context, caller, call.source);
  if (!target)
    return typeof call.source === "string" && call.source.startsWith(".")
      ? [`${label}: source ${call.source} is not a module in infra/`]
      : [];
  const types = context.variableTypes.get(target.dir);
  const problems: string[] = [];
  for (const [key, value] of Object.entries(call)) {
    if (metaArguments.has(key)) continue;
    if (!target.variables.has(key)) problems.push(`${label}: ${target.dir} has no variable "${key}"`);
    else problems.push(...shapeProblems(caller, value, types?.get(key), `${label}: ${key}`));
  }
  for (const [variable, { body }] of target.variables) {
    if (!("default" in body) && !(variable in call)) problems.push(`${label}: required variable "${variable}" of ${target.dir} is not set`);
  }
  problems.push(...providersProblems(caller, target, call.providers, label));
  return problems;
}

/** Module calls give exactly the variables their module declares, shaped as it declares them. */
export function checkModuleCalls(context: CheckContext, module: TfModule): string[] {
  const problems: string[] = [];
  for (const [name, { file, body }] of module.moduleCalls) problems.push(...callProblems(context, module, name, body, file));
  // A resource's `provider = aws.x` must name a configuration this module has.
  const available = availableProviders(module);
  for (const [kind, blocks] of [
    ["resource", module.resources],
    ["data", module.data],
  ] as const) {
    for (const [type, named] of blocks) {
      for (const [name, { file, body }] of named) {
        const provider = typeof body.provider === "string" ? body.provider.replace(/^\$\{|\}$/g, "") : undefined;
        if (provider && !available.has(provider))
          problems.push(`${file}: ${kind} ${type}.${name}: provider ${provider} is not configured in ${module.dir}`);
      }
    }
  }
  return problems;
}
