import { providerLocalName, requiredSources, schemaFor, type CheckContext } from "./check-context.ts";
import { expressionFacts, hasExpression } from "./expressions.ts";
import { bodies, isObject, type HclObject, type HclValue, type TfModule } from "./hcl.ts";
import type { BlockSchema } from "./provider-schema.ts";

const resourceMeta = new Set(["count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"]);
const dataMeta = new Set(["count", "for_each", "depends_on", "provider", "lifecycle"]);
const lifecycleArguments = new Set([
  "create_before_destroy",
  "prevent_destroy",
  "ignore_changes",
  "replace_triggered_by",
  "precondition",
  "postcondition",
]);

function unquote(text: string): string {
  return text.replace(/^\$\{|\}$/g, "");
}

function lifecycleProblems(value: HclValue | undefined, schema: BlockSchema, label: string): string[] {
  const problems: string[] = [];
  for (const lifecycle of bodies(value)) {
    for (const key of Object.keys(lifecycle)) {
      if (!lifecycleArguments.has(key)) problems.push(`${label}: lifecycle has no argument "${key}"`);
    }
    const ignored = lifecycle.ignore_changes;
    for (const entry of Array.isArray(ignored) ? ignored : []) {
      // `ignore_changes = [tags["Name"], content]`: the first name must be an argument.
      const name = typeof entry === "string" ? unquote(entry).split(/[.[]/)[0] : undefined;
      if (name && name !== "all" && !schema.args.has(name))
        problems.push(`${label}: lifecycle.ignore_changes names "${name}", which is not an argument`);
    }
  }
  return problems;
}

/** Object constructors inside an expression given for a nested argument (`[for x in y : { name = ... }]`). */
async function expressionObjectProblems(text: string, schema: BlockSchema, label: string): Promise<string[]> {
  const facts = await expressionFacts(text);
  return facts.objects.flatMap((keys) => keys.filter((key) => !schema.args.has(key)).map((key) => `${label}: no argument "${key}"`));
}

async function blockProblems(body: HclObject, schema: BlockSchema, label: string, meta: ReadonlySet<string>): Promise<string[]> {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (key === "lifecycle" && meta.has(key)) {
      problems.push(...lifecycleProblems(value, schema, label));
      continue;
    }
    if (meta.has(key)) continue;
    if (key === "dynamic" && isObject(value)) {
      for (const [name, blocks] of Object.entries(value)) {
        const nested = schema.args.get(name)?.nested;
        if (!nested) {
          problems.push(`${label}: dynamic "${name}" is not a block of this type`);
          continue;
        }
        for (const dynamic of bodies(blocks)) {
          for (const content of bodies(dynamic.content))
            problems.push(...(await blockProblems(content, nested, `${label}.${name}`, new Set())));
        }
      }
      continue;
    }
    const arg = schema.args.get(key);
    if (!arg) {
      problems.push(`${label}: no argument "${key}"`);
      continue;
    }
    if (!arg.nested) continue;
    if (typeof value === "string" && hasExpression(value))
      problems.push(...(await expressionObjectProblems(value, arg.nested, `${label}.${key}`)));
    for (const [index, nested] of bodies(value).entries())
      problems.push(...(await blockProblems(nested, arg.nested, `${label}.${key}[${index}]`, new Set())));
  }
  const dynamicNames = isObject(body.dynamic) ? Object.keys(body.dynamic) : [];
  for (const [name, arg] of schema.args) {
    if (arg.required && !(name in body) && !dynamicNames.includes(name)) problems.push(`${label}: required argument "${name}" is missing`);
  }
  return problems;
}

function requiredProviderProblems(context: CheckContext, module: TfModule): string[] {
  const problems: string[] = [];
  for (const { file, body } of module.terraform) {
    for (const required of bodies(body.required_providers)) {
      for (const [name, entry] of Object.entries(required)) {
        if (!isObject(entry)) continue;
        const source = typeof entry.source === "string" ? entry.source : "";
        const schema = context.schemas.get(source);
        if (!schema) {
          problems.push(`${file}: required provider ${name} (${source}) has no schema to check against`);
          continue;
        }
        if (entry.version !== schema.version)
          problems.push(
            `${file}: required provider ${name} must pin exactly ${schema.version}, the version its schema (${schema.origin}) describes; it says ${String(entry.version)}`,
          );
      }
    }
  }
  return problems;
}

/** Every resource and data type exists in the pinned provider's schema, and every argument of it. */
export async function checkSchema(context: CheckContext, module: TfModule): Promise<string[]> {
  const problems = requiredProviderProblems(context, module);
  const sources = requiredSources(module);
  for (const [kind, blocks] of [
    ["resource", module.resources],
    ["data", module.data],
  ] as const) {
    for (const [type, named] of blocks) {
      const schema = schemaFor(context, module, type);
      for (const [name, { file, body }] of named) {
        const label = `${file}: ${kind} ${type}.${name}`;
        if (!schema) {
          problems.push(`${label}: provider "${providerLocalName(type)}" is not in required_providers of ${module.dir}`);
          continue;
        }
        const block = kind === "resource" ? schema.resources.get(type) : schema.dataSources.get(type);
        if (!block) {
          const why = schema.unrecorded?.has(type)
            ? "exists, but its arguments are not recorded in the schema snapshot"
            : `is not a ${kind === "resource" ? "resource" : "data source"} type of ${schema.source} ${schema.version}`;
          problems.push(`${label}: ${type} ${why}`);
          continue;
        }
        problems.push(...(await blockProblems(body, block, label, kind === "resource" ? resourceMeta : dataMeta)));
      }
    }
  }
  for (const [key, { file, body }] of module.providers) {
    const name = key.split(".")[0] ?? key;
    const schema = context.schemas.get(sources.get(name) ?? "");
    if (!schema) {
      problems.push(`${file}: provider "${key}" is not in required_providers of ${module.dir}`);
      continue;
    }
    for (const argument of Object.keys(body)) {
      if (!schema.config.args.has(argument)) problems.push(`${file}: provider ${key}: no argument "${argument}"`);
    }
  }
  for (const { file, body } of module.unknownBlocks) problems.push(`${file}: "${body}" is not a Terraform block type`);
  return problems;
}
