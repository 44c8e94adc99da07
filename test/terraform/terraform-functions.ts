import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

interface FnAssembly {
  types: Record<string, { methods?: { docs?: { summary?: string } }[] }>;
}

// "{@link https://developer.hashicorp.com/terraform/language/functions/jsonencode jsonencode} ..." or ".../functions/join.html join}"
const functionLink = /\/language\/functions\/([a-z0-9_]+)(?:\.html)? /;

/**
 * Terraform's built-in function names, from the `cdktf` package (the provider packages' peer
 * dependency): its `Fn` classes are generated from Terraform's function signatures and each
 * method's docs link to the function's page, which names it as HCL spells it.
 */
export async function terraformFunctionNames(): Promise<Set<string>> {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve("cdktf/package.json"));
  const assembly = JSON.parse(await readFile(join(dir, ".jsii"), "utf8")) as FnAssembly;
  const names = new Set<string>();
  for (const fqn of ["cdktf.FnGenerated", "cdktf.Fn"]) {
    for (const method of assembly.types[fqn]?.methods ?? []) {
      const name = functionLink.exec(method.docs?.summary ?? "")?.[1];
      if (name) names.add(name);
    }
  }
  if (names.size < 100) throw new Error(`only ${names.size} Terraform functions found in cdktf's assembly`);
  return names;
}
