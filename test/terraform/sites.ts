import { bodies, isObject, type HclObject, type HclValue, type TfModule } from "./hcl.ts";
import { hasExpression } from "./expressions.ts";

/** One expression in a module and where it stands, for reference checks and messages. */
export interface Site {
  file: string;
  where: string;
  text: string;
  /** Names a reference may start with here besides the module's own: dynamic block iterators. */
  scope: ReadonlySet<string>;
}

const none: ReadonlySet<string> = new Set();

function collect(value: HclValue, file: string, where: string, scope: ReadonlySet<string>, into: Site[]): void {
  if (typeof value === "string") {
    if (hasExpression(value)) into.push({ file, where, text: value, scope });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => collect(item, file, `${where}[${index}]`, scope, into));
    return;
  }
  if (!isObject(value)) return;
  for (const [key, inner] of Object.entries(value)) {
    // `{ (var.name) = ... }`: a key computed from an expression reads names too.
    if (hasExpression(key)) into.push({ file, where: `${where} (key)`, text: key, scope });
    if (key === "dynamic" && isObject(inner)) collectDynamic(inner, file, where, scope, into);
    else collect(inner, file, `${where}.${key}`, scope, into);
  }
}

/** `dynamic "x" { for_each = ..., content { ... x.value ... } }`: `x` (or its `iterator`) is in scope in content. */
function collectDynamic(blocks: HclObject, file: string, where: string, scope: ReadonlySet<string>, into: Site[]): void {
  for (const [label, value] of Object.entries(blocks)) {
    for (const body of bodies(value)) {
      const iterator = typeof body.iterator === "string" ? body.iterator : label;
      const inner = new Set([...scope, iterator]);
      for (const [key, part] of Object.entries(body)) {
        collect(part, file, `${where}.dynamic.${label}.${key}`, key === "content" ? inner : scope, into);
      }
    }
  }
}

/** Every expression of a block body except the keys that hold no ordinary expression. */
function collectBody(body: HclObject, file: string, where: string, skip: ReadonlySet<string>, into: Site[]): void {
  for (const [key, value] of Object.entries(body)) {
    if (skip.has(key)) continue;
    if (key === "lifecycle") {
      // ignore_changes names arguments, not values; it is checked against the schema instead.
      for (const lifecycle of bodies(value)) collectBody(lifecycle, file, `${where}.lifecycle`, new Set(["ignore_changes"]), into);
      continue;
    }
    collect(key === "dynamic" ? { dynamic: value } : value, file, key === "dynamic" ? where : `${where}.${key}`, none, into);
  }
}

const resourceSkips = new Set(["provider"]);
const moduleCallSkips = new Set(["providers", "source", "version"]);
const variableSkips = new Set(["type", "description", "sensitive", "nullable", "ephemeral"]);

/** The expressions inside one value (a local's, a block body's). */
export function valueSites(value: HclValue, file: string, where: string): Site[] {
  const sites: Site[] = [];
  collect(value, file, where, none, sites);
  return sites;
}

export function moduleSites(module: TfModule): Site[] {
  const sites: Site[] = [];
  for (const [name, { file, body }] of module.variables) collectBody(body, file, `variable ${name}`, variableSkips, sites);
  for (const [name, { file, body }] of module.locals) collect(body, file, `local.${name}`, none, sites);
  for (const [name, { file, body }] of module.outputs) collectBody(body, file, `output ${name}`, none, sites);
  for (const [name, { file, body }] of module.moduleCalls) collectBody(body, file, `module ${name}`, moduleCallSkips, sites);
  for (const [type, named] of module.resources) {
    for (const [name, { file, body }] of named) collectBody(body, file, `resource ${type}.${name}`, resourceSkips, sites);
  }
  for (const [type, named] of module.data) {
    for (const [name, { file, body }] of named) collectBody(body, file, `data ${type}.${name}`, resourceSkips, sites);
  }
  for (const [name, { file, body }] of module.providers) collectBody(body, file, `provider ${name}`, new Set(["alias"]), sites);
  return sites;
}
