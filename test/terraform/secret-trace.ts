import { callersOf, calledModule, type CheckContext } from "./check-context.ts";
import { isObject, type HclValue, type TfModule } from "./hcl.ts";

/** Where a value passed between modules comes from: a resource's (or a data source's, `data.<type>`) attribute in some module. */
export interface TracedResource {
  module: TfModule;
  type: string;
  name: string;
  attribute: string;
}

const exactReference = /^\$\{([A-Za-z0-9_.\-[\]"]+)\}$/;

function indexFree(reference: string): string[] {
  return reference
    .replace(/\[(\d+|"[^"]*")\]/g, ".$1")
    .split(".")
    .filter((part) => !/^(\d+|".*")$/.test(part));
}

/** Descends an object literal along `path`, then follows the exact reference it ends at (if any). */
function follow(
  context: CheckContext,
  module: TfModule,
  value: HclValue | undefined,
  path: string[],
  label: string,
): TracedResource[] | string {
  let current = value;
  for (const [index, part] of path.entries()) {
    if (typeof current === "string")
      return trace(context, module, `${exactReference.exec(current)?.[1] ?? current}.${path.slice(index).join(".")}`);
    if (!isObject(current) || !(part in current)) return `${label} has no "${part}"`;
    current = current[part];
  }
  if (typeof current !== "string") return `${label} is not a reference`;
  const reference = exactReference.exec(current)?.[1];
  return reference ? trace(context, module, reference) : `${label} is ${JSON.stringify(current)}, not a single reference`;
}

/**
 * Follows a reference such as `var.secret_names.admin_api_key` through every caller's
 * arguments, locals and module outputs to the resources it comes from (one per caller).
 */
export function trace(context: CheckContext, module: TfModule, reference: string): TracedResource[] | string {
  const [root = "", second = "", ...rest] = indexFree(reference);
  switch (root) {
    case "var": {
      const callers = callersOf(context, module);
      if (callers.length === 0) return `var.${second} of ${module.dir} is set by no caller inside infra/`;
      const traced: TracedResource[] = [];
      for (const { caller, name } of callers) {
        const found = follow(context, caller, caller.moduleCalls.get(name)?.body[second], rest, `${caller.dir} module ${name}: ${second}`);
        if (typeof found === "string") return found;
        traced.push(...found);
      }
      return traced;
    }
    case "local":
      return follow(context, module, module.locals.get(second)?.body, rest, `${module.dir} local.${second}`);
    case "module": {
      const [output = "", ...path] = rest;
      const call = module.moduleCalls.get(second);
      const target = call ? calledModule(context, module, call.body.source) : undefined;
      if (!target) return `module.${second} is not a module in infra/`;
      return follow(context, target, target.outputs.get(output)?.body.value, path, `${target.dir} output ${output}`);
    }
    case "data": {
      const [name = "", attribute = ""] = rest;
      if (!module.data.get(second)?.has(name)) return `${reference} is not a data source of ${module.dir}`;
      return [{ module, type: `data.${second}`, name, attribute }];
    }
    default: {
      const [attribute = ""] = rest;
      if (!module.resources.get(root)?.has(second)) return `${reference} is not a resource of ${module.dir}`;
      return [{ module, type: root, name: second, attribute }];
    }
  }
}
