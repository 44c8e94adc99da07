/**
 * Enforces the dependency direction of DESIGN.md: edge → shared, regional → shared; shared
 * and edge never touch Node built-ins; edge and regional never import each other.
 */
import { readdir, readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";

const root = resolve(import.meta.dirname, "..");
const tiers = ["shared", "edge", "regional"] as const;
type Tier = (typeof tiers)[number];

const mayImport: Record<Tier, Tier[]> = { shared: ["shared"], edge: ["edge", "shared"], regional: ["regional", "shared"] };
const nodeBuiltins = new Set(builtinModules);
const importPattern = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']/g;

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) yield path;
  }
}

function tierOf(path: string): string {
  return relative(root, path).split(sep)[0] ?? "";
}

const problems: string[] = [];
for (const tier of tiers) {
  for await (const file of sourceFiles(join(root, tier))) {
    const text = await readFile(file, "utf8");
    for (const match of text.matchAll(importPattern)) {
      const specifier = match[1] ?? match[2] ?? match[3] ?? "";
      const where = relative(root, file);
      const isNode = specifier.startsWith("node:") || nodeBuiltins.has(specifier.split("/")[0] ?? "");
      if (isNode && tier !== "regional") problems.push(`${where}: imports '${specifier}', but ${tier}/ must run without Node built-ins`);
      if (!specifier.startsWith(".")) continue;
      const target = tierOf(resolve(dirname(file), specifier));
      if (!(mayImport[tier] as string[]).includes(target)) problems.push(`${where}: imports '${specifier}' from ${target}/, but ${tier}/ may only import ${mayImport[tier].join(" and ")}/`);
    }
  }
}

if (problems.length > 0) {
  process.stderr.write(`Import boundaries broken:\n${problems.map((problem) => `  ${problem}`).join("\n")}\n`);
  process.exit(1);
}
