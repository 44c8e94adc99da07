import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ArgSchema, BlockSchema, ProviderSchema } from "./provider-schema.ts";

/**
 * Provider schemas read from the jsii assembly (`.jsii`, JSON) that each prebuilt CDKTF
 * provider package ships: the package is generated from `terraform providers schema -json` of
 * the provider version named in its package.json (`cdktf.provider`), one config interface per
 * resource. Every property's docs link to the registry as `...#snake_name`, which gives back
 * the Terraform name without guessing it from the camelCase one.
 */

type JsiiType =
  { primitive: string } | { fqn: string } | { collection: { kind: string; elementtype: JsiiType } } | { union: { types: JsiiType[] } };

interface JsiiProperty {
  name: string;
  optional?: boolean;
  type: JsiiType;
  static?: boolean;
  immutable?: boolean;
  docs?: { summary?: string; remarks?: string };
}

interface JsiiTypeInfo {
  fqn: string;
  kind: string;
  datatype?: boolean;
  interfaces?: string[];
  properties?: JsiiProperty[];
  docs?: { summary?: string };
  initializer?: { parameters?: { name: string; type: JsiiType }[] };
}

interface Assembly {
  types: Record<string, JsiiTypeInfo>;
}

interface CdktfPackageJson {
  name: string;
  version: string;
  cdktf?: { provider?: { name?: string; version?: string } };
}

// "Represents a {@link https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/vpc aws_vpc}."
const represents = /\/docs\/(resources|data-sources)\/\S+ ([a-z0-9_]+)\}/;
// "Docs at Terraform Registry: {@link https://.../docs/resources/vpc#cidr_block Vpc#cidr_block}"
const argumentLink = /#([a-z0-9_]+) [A-Za-z0-9]+#/;

function structFqns(type: JsiiType): string[] {
  if ("fqn" in type) return [type.fqn];
  if ("collection" in type) return structFqns(type.collection.elementtype);
  if ("union" in type) return type.union.types.flatMap(structFqns);
  return [];
}

/** `dnsName` → `dns_name`, `ipv6CidrBlock` → `ipv6_cidr_block`: how CDKTF named a computed attribute. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

function schemaReader(assembly: Assembly) {
  const structs = new Map<string, BlockSchema>();

  // Struct properties, including those of interfaces it extends within the assembly.
  function structProperties(fqn: string): JsiiProperty[] {
    const info = assembly.types[fqn];
    if (!info) return [];
    const inherited = (info.interfaces ?? []).flatMap(structProperties);
    return [...inherited, ...(info.properties ?? [])];
  }

  function struct(fqn: string): BlockSchema {
    const known = structs.get(fqn);
    if (known) return known;
    const schema: BlockSchema = { args: new Map(), attributes: new Set() };
    structs.set(fqn, schema);
    for (const property of structProperties(fqn)) {
      const name = argumentLink.exec(`${property.docs?.summary ?? ""} ${property.docs?.remarks ?? ""}`)?.[1];
      if (!name) continue;
      const nestedFqn = structFqns(property.type).find((candidate) => assembly.types[candidate]?.datatype === true);
      const arg: ArgSchema = { ...(property.optional !== true && { required: true }), ...(nestedFqn && { nested: struct(nestedFqn) }) };
      schema.args.set(name, arg);
      schema.attributes.add(name);
    }
    return schema;
  }

  /** The resource's config arguments plus its read-only getters (the computed attributes). */
  function resource(info: JsiiTypeInfo): BlockSchema | undefined {
    const config = info.initializer?.parameters?.find((parameter) => parameter.name === "config");
    const configFqn = config ? structFqns(config.type)[0] : undefined;
    if (!configFqn) return undefined;
    const args = struct(configFqn);
    const attributes = new Set(args.attributes);
    attributes.add("id");
    for (const property of info.properties ?? []) {
      if (property.static || property.name.endsWith("Input")) continue;
      attributes.add(snakeCase(property.name));
    }
    return { args: args.args, attributes };
  }

  return { struct, resource };
}

/** Reads an installed CDKTF provider package's `.jsii` (parsed once: it is large). */
export async function jsiiProviderSchema(packageName: string): Promise<ProviderSchema> {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve(`${packageName}/package.json`));
  const packageJson = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8")) as CdktfPackageJson;
  const provider = packageJson.cdktf?.provider;
  if (!provider?.name || !provider.version) throw new Error(`${packageName} does not say which provider it was generated from`);
  const assembly = JSON.parse(await readFile(join(packageDir, ".jsii"), "utf8")) as Assembly;
  const reader = schemaReader(assembly);
  const resources = new Map<string, BlockSchema>();
  const dataSources = new Map<string, BlockSchema>();
  let config: BlockSchema | undefined;
  for (const info of Object.values(assembly.types)) {
    if (info.kind !== "class") continue;
    const summary = info.docs?.summary ?? "";
    const match = represents.exec(summary);
    if (match?.[1] && match[2]) {
      const schema = reader.resource(info);
      if (schema) (match[1] === "resources" ? resources : dataSources).set(match[2], schema);
    } else if (/^Represents a \{@link \S+\/docs [a-z0-9_]+\}/.test(summary)) {
      config = reader.resource(info);
    }
  }
  if (!config) throw new Error(`${packageName}: no provider configuration class in its assembly`);
  return {
    source: provider.name.replace(/^registry\.terraform\.io\//, ""),
    version: provider.version,
    origin: `${packageJson.name}@${packageJson.version} (.jsii assembly)`,
    resources,
    dataSources,
    config,
  };
}
