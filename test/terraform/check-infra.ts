import type { CheckContext } from "./check-context.ts";
import { checkModuleCalls } from "./check-module-calls.ts";
import { checkReferences } from "./check-references.ts";
import { checkSchema } from "./check-schema.ts";
import { loadInfra, type InfraTree } from "./hcl.ts";
import { jsiiProviderSchema } from "./jsii-schema.ts";
import type { ProviderSchema } from "./provider-schema.ts";
import { terraformFunctionNames } from "./terraform-functions.ts";
import { upstashProviderSchema } from "./upstash-schema.ts";
import { parseTypeConstraint, type TypeShape } from "./variable-types.ts";

/** What the checker checks against, independent of which tree it checks. */
export interface Schemas {
  providers: Map<string, ProviderSchema>;
  functions: ReadonlySet<string>;
}

/** The pinned providers' schemas (AWS, Cloudflare, random from their CDKTF packages; Upstash from its snapshot). */
export async function loadSchemas(): Promise<Schemas> {
  // One after the other: the AWS assembly alone is 130 MB of JSON, and parsing two at once only adds memory.
  const providers: ProviderSchema[] = [];
  for (const name of ["@cdktf/provider-aws", "@cdktf/provider-cloudflare", "@cdktf/provider-random"])
    providers.push(await jsiiProviderSchema(name));
  providers.push(await upstashProviderSchema());
  return { providers: new Map(providers.map((schema) => [schema.source, schema])), functions: await terraformFunctionNames() };
}

async function variableTypes(tree: InfraTree): Promise<Map<string, Map<string, TypeShape>>> {
  const types = new Map<string, Map<string, TypeShape>>();
  for (const module of tree.modules.values()) {
    const byName = new Map<string, TypeShape>();
    for (const [name, { body }] of module.variables)
      byName.set(name, await parseTypeConstraint(typeof body.type === "string" ? body.type : undefined));
    types.set(module.dir, byName);
  }
  return types;
}

export interface InfraCheck {
  context: CheckContext;
  /** Everything Terraform would refuse (or plan wrongly) that the checker can see without a terraform binary. */
  problems: string[];
}

/** Parses the tree under `root` and runs every static check over it. */
export async function checkInfra(root: string, schemas: Schemas): Promise<InfraCheck> {
  const tree = await loadInfra(root);
  const context: CheckContext = {
    tree,
    schemas: schemas.providers,
    functions: schemas.functions,
    variableTypes: await variableTypes(tree),
  };
  const problems = [...tree.problems];
  for (const module of tree.modules.values()) {
    problems.push(...(await checkSchema(context, module)));
    problems.push(...(await checkReferences(context, module)));
    problems.push(...checkModuleCalls(context, module));
  }
  return { context, problems };
}
