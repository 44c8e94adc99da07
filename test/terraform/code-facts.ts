import { readFile } from "node:fs/promises";
import ts from "typescript";
import { unstable_readConfig } from "wrangler";
import { loadConfig } from "../../regional/config.ts";

const repoFile = (path: string): string => new URL(`../../${path}`, import.meta.url).pathname;

/** What wrangler deploys for an environment (top level when `env` is unset), read by wrangler itself. */
export interface WranglerFacts {
  name: string;
  compatibilityDate: string | undefined;
  compatibilityFlags: string[];
  vars: Record<string, string>;
  durableObjects: Record<string, string>;
  migrations: { tag: string; new_sqlite_classes: string[] }[];
  routes: { pattern: string; custom_domain: boolean }[];
  workersDev: boolean | undefined;
  previewUrls: boolean | undefined;
}

/** The part of wrangler's resolved configuration read here (its own type comes from a package wrangler bundles). */
interface ResolvedConfig {
  name?: string;
  compatibility_date?: string;
  compatibility_flags: string[];
  vars: Record<string, unknown>;
  durable_objects: { bindings: { name: string; class_name: string }[] };
  migrations: { tag: string; new_sqlite_classes?: string[] }[];
  routes?: (string | { pattern: string; custom_domain?: boolean })[];
  workers_dev?: boolean;
  preview_urls?: boolean;
}

export function wranglerFacts(env?: string): WranglerFacts {
  // Warnings are wrangler's to print on deploy; the tests assert on the values themselves.
  const config: ResolvedConfig = unstable_readConfig(
    { config: repoFile("wrangler.toml"), ...(env !== undefined && { env }) },
    { hideWarnings: true },
  );
  return {
    name: config.name ?? "",
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    vars: Object.fromEntries(
      Object.entries(config.vars).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
    ),
    durableObjects: Object.fromEntries(config.durable_objects.bindings.map((binding) => [binding.name, binding.class_name])),
    migrations: config.migrations.map((migration) => ({ tag: migration.tag, new_sqlite_classes: migration.new_sqlite_classes ?? [] })),
    routes: (config.routes ?? []).map((route) =>
      typeof route === "string"
        ? { pattern: route, custom_domain: false }
        : { pattern: route.pattern, custom_domain: route.custom_domain === true },
    ),
    workersDev: config.workers_dev,
    previewUrls: config.preview_urls,
  };
}

/**
 * Every variable regional/config.ts reads, and those it defaults, taken from the zod schema
 * itself: loadConfig parses an environment that records each key the schema looks up (an
 * object schema reads every key of its shape), and what comes back set is a default.
 */
export function regionalConfigKeys(): { keys: Set<string>; defaults: Set<string> } {
  const keys = new Set<string>();
  const recording = new Proxy<NodeJS.ProcessEnv>(
    {},
    {
      get(_target, key) {
        if (typeof key === "string") keys.add(key);
        return undefined;
      },
    },
  );
  const config = loadConfig(recording);
  const defaults = new Set(Object.entries(config).flatMap(([key, value]) => (value === undefined ? [] : [key])));
  return { keys, defaults };
}

/** The edge's bindings (vars, secrets, Durable Objects): the members of `interface Env` in edge/env.ts. */
export async function edgeBindingNames(): Promise<Set<string>> {
  const path = repoFile("edge/env.ts");
  const source = ts.createSourceFile(path, await readFile(path, "utf8"), ts.ScriptTarget.Latest, true);
  const names = new Set<string>();
  source.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node) || node.name.text !== "Env") return;
    for (const member of node.members) {
      if (member.name && (ts.isIdentifier(member.name) || ts.isStringLiteral(member.name))) names.add(member.name.text);
    }
  });
  return names;
}
