import { execFile } from "node:child_process";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The architecture rules (.dependency-cruiser.cjs, run by `npm run typecheck`) must catch
 * what they promise to: plant each kind of violation in a copy of the tree and see it named.
 */
const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
let copy: string;

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

beforeAll(async () => {
  copy = await mkdtemp(join(tmpdir(), "bw-architecture-"));
  for (const part of ["edge", "regional", "shared", "tsconfig.json", ".dependency-cruiser.cjs"])
    await cp(join(root, part), join(copy, part), { recursive: true });
  const plant = (path: string, text: string) => writeFile(join(copy, path), text);
  await plant("regional/planted-a.ts", 'import type { B } from "./planted-b.ts";\nexport type A = B | 1;\n');
  await plant("regional/planted-b.ts", 'import type { A } from "./planted-a.ts";\nexport type B = A | 2;\n');
  await plant("edge/planted-edge.ts", 'import type { Router } from "../regional/routing/router.ts";\nexport type R = Router;\n');
  await plant("shared/planted-shared.ts", 'import { readFileSync } from "node:fs";\nexport const read = readFileSync;\n');
  await plant("regional/providers/planted-up.ts", 'import type { Router } from "../routing/router.ts";\nexport type R = Router;\n');
}, 60_000);
afterAll(async () => {
  await rm(copy, { recursive: true, force: true });
});

async function violations(): Promise<Violation[]> {
  const cli = join(root, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");
  const { stdout } = await run(
    process.execPath,
    [cli, "edge", "regional", "shared", "--config", ".dependency-cruiser.cjs", "--output-type", "json"],
    { cwd: copy, maxBuffer: 64 * 1024 * 1024 },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? "" }));
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe("the architecture rules", () => {
  it("name each planted violation: a cycle, a tier importing the other, Node in shared/, an upward import", async () => {
    const found = await violations();
    const named = (rule: string, from: string) => found.some((violation) => violation.rule.name === rule && violation.from === from);
    expect(named("no-circular", "regional/planted-a.ts")).toBe(true);
    expect(named("edge-not-regional", "edge/planted-edge.ts")).toBe(true);
    expect(named("shared-no-runtime", "shared/planted-shared.ts")).toBe(true);
    expect(named("providers-below-routing", "regional/providers/planted-up.ts")).toBe(true);
    // Nothing else: the tree itself keeps the rules.
    expect(found.filter((violation) => !violation.from.includes("planted"))).toEqual([]);
  }, 60_000);
});
