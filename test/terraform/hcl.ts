import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { parse } from "@cdktf/hcl2json";

/** A value as hcl2json gives it: literals as JSON, every expression as a `${...}` string, blocks as arrays of objects. */
export type HclValue = string | number | boolean | null | HclValue[] | HclObject;
export interface HclObject {
  [key: string]: HclValue;
}

/** One block or declaration and the file (relative to the infra root) it came from. */
export interface Located<T> {
  file: string;
  body: T;
}

/** A Terraform module: every `.tf` file of one directory, merged as Terraform merges them. */
export interface TfModule {
  /** Directory relative to the infra root, e.g. `modules/aws-region`. */
  dir: string;
  variables: Map<string, Located<HclObject>>;
  locals: Map<string, Located<HclValue>>;
  outputs: Map<string, Located<HclObject>>;
  moduleCalls: Map<string, Located<HclObject>>;
  /** `type` → `name` → body; e.g. `aws_vpc` → `main`. */
  resources: Map<string, Map<string, Located<HclObject>>>;
  data: Map<string, Map<string, Located<HclObject>>>;
  /** Provider configurations, `aws` or `aws.secondary` (with an alias). */
  providers: Map<string, Located<HclObject>>;
  /** `terraform {}` blocks (required_providers, backend, required_version). */
  terraform: Located<HclObject>[];
  /** Top-level block kinds Terraform would not know (a misspelt `resource`, say). */
  unknownBlocks: Located<string>[];
}

export function isObject(value: HclValue | undefined): value is HclObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** hcl2json answers blocks as lists of bodies: every body, whatever the shape. */
export function bodies(value: HclValue | undefined): HclObject[] {
  if (Array.isArray(value)) return value.filter(isObject);
  return isObject(value) ? [value] : [];
}

function toHcl(value: unknown): HclValue {
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map(toHcl);
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toHcl(inner)]));
  throw new Error(`unexpected value from hcl2json: ${String(value)}`);
}

async function tfFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".tf"))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !path.split(/[\\/]/).includes(".terraform"))
    .sort();
}

function emptyModule(dir: string): TfModule {
  return {
    dir,
    variables: new Map(),
    locals: new Map(),
    outputs: new Map(),
    moduleCalls: new Map(),
    resources: new Map(),
    data: new Map(),
    providers: new Map(),
    terraform: [],
    unknownBlocks: [],
  };
}

/** Adds `label → body` pairs of one block kind; a repeated label is reported, as Terraform would. */
function addNamed(
  target: Map<string, Located<HclObject>>,
  file: string,
  blocks: HclValue | undefined,
  kind: string,
  problems: string[],
): void {
  if (!isObject(blocks)) return;
  for (const [name, value] of Object.entries(blocks)) {
    for (const body of bodies(value)) {
      if (target.has(name)) problems.push(`${file}: ${kind} "${name}" is declared twice`);
      target.set(name, { file, body });
    }
  }
}

function addTyped(
  target: Map<string, Map<string, Located<HclObject>>>,
  file: string,
  blocks: HclValue | undefined,
  kind: string,
  problems: string[],
): void {
  if (!isObject(blocks)) return;
  for (const [type, named] of Object.entries(blocks)) {
    const byName = target.get(type) ?? new Map<string, Located<HclObject>>();
    target.set(type, byName);
    addNamed(byName, file, named, `${kind} ${type}`, problems);
  }
}

const knownBlocks = new Set([
  "terraform",
  "variable",
  "locals",
  "output",
  "module",
  "resource",
  "data",
  "provider",
  "moved",
  "import",
  "removed",
  "check",
]);

function addFile(module: TfModule, file: string, parsed: HclObject, problems: string[]): void {
  for (const [kind, value] of Object.entries(parsed)) {
    if (!knownBlocks.has(kind)) module.unknownBlocks.push({ file, body: kind });
  }
  addNamed(module.variables, file, parsed.variable, "variable", problems);
  addNamed(module.outputs, file, parsed.output, "output", problems);
  addNamed(module.moduleCalls, file, parsed.module, "module", problems);
  addTyped(module.resources, file, parsed.resource, "resource", problems);
  addTyped(module.data, file, parsed.data, "data", problems);
  for (const locals of bodies(parsed.locals)) {
    for (const [name, value] of Object.entries(locals)) {
      if (module.locals.has(name)) problems.push(`${file}: local "${name}" is declared twice`);
      module.locals.set(name, { file, body: value });
    }
  }
  if (isObject(parsed.provider)) {
    for (const [name, value] of Object.entries(parsed.provider)) {
      for (const body of bodies(value)) {
        const key = typeof body.alias === "string" ? `${name}.${body.alias}` : name;
        if (module.providers.has(key)) problems.push(`${file}: provider "${key}" is configured twice`);
        module.providers.set(key, { file, body });
      }
    }
  }
  for (const body of bodies(parsed.terraform)) module.terraform.push({ file, body });
}

export interface InfraTree {
  root: string;
  /** By directory relative to the root. */
  modules: Map<string, TfModule>;
  /** Files that did not parse, and declarations Terraform would refuse. */
  problems: string[];
}

/** Parses every `.tf` file under `root` once, grouped into modules by directory. */
export async function loadInfra(root: string): Promise<InfraTree> {
  const modules = new Map<string, TfModule>();
  const problems: string[] = [];
  const files = await tfFiles(root);
  const parsed = await Promise.all(
    files.map(async (path) => {
      const file = relative(root, path).split("\\").join("/");
      try {
        return { file, body: toHcl(await parse(file, await readFile(path, "utf8"))) };
      } catch (error) {
        problems.push(`${file}: does not parse: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      }
    }),
  );
  for (const entry of parsed) {
    if (!entry || !isObject(entry.body)) continue;
    const dir = entry.file.includes("/") ? entry.file.slice(0, entry.file.lastIndexOf("/")) : ".";
    const module = modules.get(dir) ?? emptyModule(dir);
    modules.set(dir, module);
    addFile(module, entry.file, entry.body, problems);
  }
  return { root, modules, problems };
}
