import { typeAst } from "./expressions.ts";

/**
 * A variable's type constraint, as far as the checker needs it: which attributes an object
 * has (so `var.network.vpc_idd` and `{ vpc_idd = ... }` are caught) and which may be left out.
 * Anything else (string, list(...), map(...), any) accepts whatever is read from it.
 */
export type TypeShape = { kind: "object"; attributes: Map<string, { shape: TypeShape; optional: boolean }> } | { kind: "open" };

const open: TypeShape = { kind: "open" };

interface AstNode {
  type: string;
  children?: AstNode[];
  meta?: unknown;
}

function metaOf(node: AstNode): Record<string, unknown> {
  return typeof node.meta === "object" && node.meta !== null ? (node.meta as Record<string, unknown>) : {};
}

async function shapeOf(text: string): Promise<{ shape: TypeShape; optional: boolean }> {
  const ast = (await typeAst(text)) as AstNode | null;
  if (!ast || ast.type !== "function") return { shape: open, optional: false };
  const meta = metaOf(ast);
  const argument = ast.children?.find((child) => child.type !== "");
  if (meta.name === "optional" && argument) {
    const inner = await shapeOf(String(metaOf(argument).value ?? ""));
    return { shape: inner.shape, optional: true };
  }
  if (meta.name !== "object" || !argument || argument.type !== "object") return { shape: open, optional: false };
  const items = metaOf(argument).items;
  const attributes = new Map<string, { shape: TypeShape; optional: boolean }>();
  if (typeof items === "object" && items !== null) {
    for (const [name, itemText] of Object.entries(items)) attributes.set(name, await shapeOf(String(itemText)));
  }
  return { shape: { kind: "object", attributes }, optional: false };
}

/** hcl2json writes a type as `${object({...})}`; bare keywords (`${string}`) are open. */
export async function parseTypeConstraint(text: string | undefined): Promise<TypeShape> {
  if (!text) return open;
  const inner = text.startsWith("${") && text.endsWith("}") ? text.slice(2, -1) : text;
  return (await shapeOf(inner)).shape;
}
