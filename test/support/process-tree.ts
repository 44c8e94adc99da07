import { readFileSync, readdirSync } from "node:fs";

/** Every process below `pid` (children first), read from Linux's /proc. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name (in parentheses) may hold spaces; the parent id is the second field after it.
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === pid) found.push(Number(entry), ...descendants(Number(entry)));
    } catch {
      // The process ended while being read.
    }
  }
  return found;
}

/** The process's command name (`workerd`), or "" when it is gone. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}
