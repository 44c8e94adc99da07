import { calledModule, schemaFor, type CheckContext } from "./check-context.ts";
import { expressionFacts } from "./expressions.ts";
import { isObject, type HclValue, type TfModule } from "./hcl.ts";
import { moduleSites, type Site } from "./sites.ts";
import type { TypeShape } from "./variable-types.ts";

/** Names Terraform itself provides in expressions. */
const builtinRoots = new Set(["count", "each", "path", "terraform", "self"]);

/** Follows `a.b.c` into an object literal; stops at the first part that is an expression. */
function literalPath(value: HclValue | undefined, path: string[], label: string): string | undefined {
  let current = value;
  let reached = label;
  for (const part of path) {
    if (!isObject(current)) return undefined;
    if (!(part in current)) return `${reached} has no attribute "${part}"`;
    current = current[part];
    reached = `${reached}.${part}`;
  }
  return undefined;
}

function typePath(shape: TypeShape | undefined, path: string[], label: string): string | undefined {
  let current = shape;
  let reached = label;
  for (const part of path) {
    if (!current || current.kind !== "object") return undefined;
    const attribute = current.attributes.get(part);
    if (!attribute) return `${reached} has no attribute "${part}" in its type`;
    current = attribute.shape;
    reached = `${reached}.${part}`;
  }
  return undefined;
}

function resourceAttribute(
  context: CheckContext,
  module: TfModule,
  kind: "resource" | "data",
  type: string,
  attribute: string | undefined,
): string | undefined {
  if (attribute === undefined) return undefined;
  const schema = schemaFor(context, module, type);
  const block = kind === "resource" ? schema?.resources.get(type) : schema?.dataSources.get(type);
  // An unknown type is reported by the schema check; nothing more to say about its attributes.
  if (!block || block.attributes.has(attribute)) return undefined;
  return `${kind === "data" ? "data." : ""}${type} has no attribute "${attribute}"`;
}

/** Why a reference would not resolve, or undefined when it does. */
export function referenceProblem(
  context: CheckContext,
  module: TfModule,
  site: Pick<Site, "scope">,
  reference: string,
): string | undefined {
  // `aws_kms_key.replica[0].arn` comes as `aws_kms_key.replica.0.arn`, `x["k"]` as `x."k"`: index steps are not names.
  const [root = "", second, third, ...rest] = reference.split(".").filter((part) => !/^(\d+|".*")$/.test(part));
  if (builtinRoots.has(root) || site.scope.has(root)) return undefined;
  switch (root) {
    case "var": {
      if (!second || !module.variables.has(second)) return `var.${second} is not declared`;
      return typePath(
        context.variableTypes.get(module.dir)?.get(second),
        [third, ...rest].filter((part) => part !== undefined),
        `var.${second}`,
      );
    }
    case "local": {
      const local = second ? module.locals.get(second) : undefined;
      if (!second || !local) return `local.${second} is not declared`;
      return literalPath(
        local.body,
        [third, ...rest].filter((part) => part !== undefined),
        `local.${second}`,
      );
    }
    case "module": {
      const call = second ? module.moduleCalls.get(second) : undefined;
      if (!second || !call) return `module.${second} is not declared`;
      const target = calledModule(context, module, call.body.source);
      if (!third || !target) return undefined;
      const output = target.outputs.get(third);
      if (!output) return `module.${second} (${target.dir}) has no output "${third}"`;
      return literalPath(output.body.value, rest, `module.${second}.${third}`);
    }
    case "data": {
      if (!second || !third || !module.data.get(second)?.has(third)) return `data.${second}.${third} is not declared`;
      return resourceAttribute(context, module, "data", second, rest[0]);
    }
    default: {
      if (!second || !module.resources.get(root)?.has(second))
        return `${root}.${second} is neither a declared resource nor a name in scope`;
      return resourceAttribute(context, module, "resource", root, third);
    }
  }
}

/** Every variable, local, module output, resource and data source an expression reads is declared; every function exists. */
export async function checkReferences(context: CheckContext, module: TfModule): Promise<string[]> {
  const problems: string[] = [];
  for (const site of moduleSites(module)) {
    const facts = await expressionFacts(site.text);
    const at = `${site.file}: ${site.where}`;
    if (facts.problem) problems.push(`${at}: does not parse: ${facts.problem}`);
    for (const name of facts.functions) {
      if (!context.functions.has(name)) problems.push(`${at}: calls ${name}(), which is not a Terraform function`);
    }
    for (const reference of facts.references) {
      const problem = referenceProblem(context, module, site, reference);
      if (problem) problems.push(`${at}: ${problem}`);
    }
  }
  return problems;
}
