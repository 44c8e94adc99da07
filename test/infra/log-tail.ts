import { readFile } from "node:fs/promises";

/** The last lines of a server log, for error messages; never throws. */
export async function logTail(path: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(path, "utf8");
    const tail = text.trimEnd().split("\n").slice(-lines).join("\n");
    return tail === "" ? `(${path} is empty)` : tail;
  } catch (error) {
    return `(no log at ${path}: ${error instanceof Error ? error.message : String(error)})`;
  }
}
