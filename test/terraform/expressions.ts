import { getExpressionAst, wrapTerraformExpression } from "@cdktf/hcl2json";
import { findAllReferencesInAst } from "@cdktf/hcl2json/lib/references.js";
import type { ExpressionAst } from "@cdktf/hcl2json/lib/syntax-tree.js";

/** What one HCL expression reads and calls, as HCL's own parser (hcl2json's) sees it. */
export interface ExpressionFacts {
  /** Traversals such as `var.database.username` or `aws_lb.regional.dns_name`; index steps end them. */
  references: string[];
  /** Functions called, e.g. `jsonencode`. */
  functions: string[];
  /** The keys of each outermost object constructor (`{ name = ..., type = ... }`), e.g. list elements built by a `for`. */
  objects: string[][];
  /** Set when the expression does not parse. */
  problem?: string;
}

const cache = new Map<string, Promise<ExpressionFacts>>();

export function hasExpression(text: string): boolean {
  return text.includes("${") || text.includes("%{");
}

function functionNames(node: ExpressionAst | undefined, into: string[]): void {
  if (!node) return;
  if (node.type === "function" && node.meta && "name" in node.meta && typeof node.meta.name === "string") into.push(node.meta.name);
  for (const child of node.children ?? []) functionNames(child, into);
}

function outermostObjects(node: ExpressionAst | undefined, into: string[][]): void {
  if (!node) return;
  if (node.type === "object" && node.meta && "items" in node.meta && typeof node.meta.items === "object" && node.meta.items !== null) {
    into.push(Object.keys(node.meta.items));
    return;
  }
  for (const child of node.children ?? []) outermostObjects(child, into);
}

async function analyse(text: string): Promise<ExpressionFacts> {
  // The same wrapping hcl2json's getReferencesInExpression applies: hcl2json gives expressions
  // back as template strings ("${...}"), which parse as quoted templates.
  const quoted = text.startsWith('"') ? text : `"${text}"`;
  try {
    const ast = await getExpressionAst("infra.tf", wrapTerraformExpression(quoted).wrap);
    const references = findAllReferencesInAst(text, ast).map((reference) => reference.value);
    const functions: string[] = [];
    functionNames(ast ?? undefined, functions);
    const objects: string[][] = [];
    outermostObjects(ast ?? undefined, objects);
    return { references, functions, objects };
  } catch (error) {
    return {
      references: [],
      functions: [],
      objects: [],
      problem: error instanceof Error ? (error.message.split("\n")[0] ?? error.message) : String(error),
    };
  }
}

/** Parses an expression once, however many sites hold the same text. */
export function expressionFacts(text: string): Promise<ExpressionFacts> {
  let facts = cache.get(text);
  if (!facts) {
    facts = analyse(text);
    cache.set(text, facts);
  }
  return facts;
}

/** The AST of a type constraint such as `object({ a = string })`. */
export async function typeAst(text: string): Promise<ExpressionAst | null> {
  return await getExpressionAst("types.tf", text);
}
