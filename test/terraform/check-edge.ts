import { isDeepStrictEqual } from "node:util";
import { parseOrigins } from "../../edge/origins/list.ts";
import type { CheckContext } from "./check-context.ts";
import type { WranglerFacts } from "./code-facts.ts";
import { isObject, type HclValue, type TfModule } from "./hcl.ts";
import { trace } from "./secret-trace.ts";

export const edgeModuleDir = "modules/cloudflare-edge";

function local(module: TfModule | undefined, name: string): HclValue | undefined {
  return module?.locals.get(name)?.body;
}

function stringMap(value: HclValue | undefined): Record<string, string> | undefined {
  if (!isObject(value)) return undefined;
  const entries = Object.entries(value);
  return entries.every(([, inner]) => typeof inner === "string") ? Object.fromEntries(entries as [string, string][]) : undefined;
}

/** The Worker's code-side facts in Terraform equal wrangler.toml's, at the top level and as each environment resolves them. */
export function durableObjectProblems(context: CheckContext, wrangler: Record<string, WranglerFacts>): string[] {
  const edge = context.tree.modules.get(edgeModuleDir);
  if (!edge) return [`${edgeModuleDir} is missing`];
  // Terraform's local → the same fact as wrangler resolves it.
  const pairs = [
    ["compatibility_date", "compatibilityDate"],
    ["compatibility_flags", "compatibilityFlags"],
    ["durable_objects", "durableObjects"],
    ["durable_object_migrations", "migrations"],
  ] as const;
  const problems: string[] = [];
  for (const [where, facts] of Object.entries(wrangler)) {
    for (const [name, key] of pairs) {
      const ours = local(edge, name);
      if (!isDeepStrictEqual(ours, facts[key]))
        problems.push(
          `${edgeModuleDir} local.${name} is ${JSON.stringify(ours)}; wrangler.toml (${where}) has ${JSON.stringify(facts[key])}`,
        );
    }
  }
  return problems;
}

interface RootEdge {
  environment: HclValue | undefined;
  scriptName: HclValue | undefined;
  hostname: HclValue | undefined;
  vars: Record<string, string> | undefined;
  regions: { name: string; continents: string[]; hostname: string }[];
}

function rootEdge(root: TfModule): RootEdge {
  const edge = local(root, "edge");
  const regions = local(root, "regions");
  const region = (key: string) => {
    const entry = isObject(regions) ? regions[key] : undefined;
    if (!isObject(entry)) return [];
    const continents = Array.isArray(entry.continents) ? entry.continents.filter((item): item is string => typeof item === "string") : [];
    return [{ name: String(entry.origin_name), continents, hostname: String(entry.origin_hostname) }];
  };
  return {
    environment: local(root, "environment"),
    scriptName: isObject(edge) ? edge.script_name : undefined,
    hostname: isObject(edge) ? edge.hostname : undefined,
    vars: isObject(edge) ? stringMap(edge.vars) : undefined,
    regions: [...region("primary"), ...region("secondary")],
  };
}

/** REGIONAL_ORIGINS as modules/environment builds it: `name:CONTINENTS=https://<load balancer name>`, primary first. */
export function expectedRegionalOrigins(regions: RootEdge["regions"]): string {
  return regions.map((region) => `${region.name}:${region.continents.join("+")}=https://${region.hostname}`).join(" ");
}

/** wrangler.toml's [env.<name>] says what infra/envs/<name> gives Terraform: Worker name, custom domain, vars. */
export function environmentProblems(context: CheckContext, environment: string, facts: WranglerFacts): string[] {
  const dir = `envs/${environment}`;
  const root = context.tree.modules.get(dir);
  if (!root) return [`infra/${dir} is missing`];
  const edge = rootEdge(root);
  const problems: string[] = [];
  const differs = (what: string, terraform: unknown, wrangler: unknown) => {
    if (!isDeepStrictEqual(terraform, wrangler))
      problems.push(`${dir} ${what} is ${JSON.stringify(terraform)}; wrangler.toml [env.${environment}] has ${JSON.stringify(wrangler)}`);
  };
  differs("local.environment", edge.environment, environment);
  differs("edge.script_name", edge.scriptName, facts.name);
  differs("edge.hostname (a custom domain)", [{ pattern: edge.hostname, custom_domain: true }], facts.routes);
  const { REGIONAL_ORIGINS: origins, ...vars } = facts.vars;
  differs("edge.vars", edge.vars, vars);
  differs("REGIONAL_ORIGINS (built from its regions)", expectedRegionalOrigins(edge.regions), origins);
  // Terraform turns off workers.dev and preview URLs; a deploy must not turn them back on.
  differs("workers.dev (off)", false, facts.workersDev);
  differs("preview URLs (off)", false, facts.previewUrls);
  try {
    const parsed = parseOrigins(origins, undefined).map((origin) => ({ name: origin.name, continents: origin.continents }));
    differs(
      "regions (as the edge parses REGIONAL_ORIGINS)",
      edge.regions.map(({ name, continents }) => ({ name, continents })),
      parsed,
    );
  } catch (error) {
    problems.push(
      `wrangler.toml [env.${environment}] REGIONAL_ORIGINS does not parse at the edge: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return problems;
}

/** Every binding Terraform gives the Worker is one the edge declares in its `Env` (a misspelt var would be ignored silently). */
export function bindingProblems(context: CheckContext, environments: string[], edgeBindings: ReadonlySet<string>): string[] {
  const edge = context.tree.modules.get(edgeModuleDir);
  const names = [
    "REGIONAL_ORIGINS",
    ...Object.keys(stringMap(local(edge, "secrets")) ?? {}),
    ...Object.keys(stringMap(local(edge, "durable_objects")) ?? {}),
    ...environments.flatMap((environment) => {
      const root = context.tree.modules.get(`envs/${environment}`);
      return root ? Object.keys(rootEdge(root).vars ?? {}) : [];
    }),
  ];
  return [...new Set(names)]
    .filter((name) => !edgeBindings.has(name))
    .map((name) => `the Worker gets binding ${name}, which edge/env.ts's Env does not declare`);
}

/**
 * Where each of the Worker's secret bindings comes from: `NAME ← type.name` per caller, or the
 * reason it cannot be followed to a resource (a value typed in, a missing output).
 */
export function secretBindingSources(context: CheckContext): Record<string, string[] | string> {
  const edge = context.tree.modules.get(edgeModuleDir);
  if (!edge) return {};
  const sources: Record<string, string[] | string> = {};
  for (const [name, value] of Object.entries(stringMap(local(edge, "secrets")) ?? {})) {
    const reference = /^\$\{(.+)\}$/.exec(value)?.[1];
    const traced = reference === undefined ? `${value} is not a reference` : trace(context, edge, reference);
    sources[name] = typeof traced === "string" ? traced : traced.map((resource) => `${resource.type}.${resource.name}`);
  }
  return sources;
}
