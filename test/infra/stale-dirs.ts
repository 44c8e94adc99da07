import { readFileSync } from "node:fs";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/*
 * A test run that is SIGKILLed (CI timeout, a second Ctrl-C) never runs its cleanup, and its
 * servers outlive it. Each temp dir records its owner's pid; the next start removes dirs
 * whose owner is gone, after stopping the servers inside them.
 */

const OWNER_FILE = "owner.pid";

export async function markOwner(dir: string): Promise<void> {
  await writeFile(join(dir, OWNER_FILE), String(process.pid));
}

/** Removes `<tmpdir>/<prefix>*` dirs whose owner died; `kill` first ends the servers in one. */
export async function sweepStaleDirs(prefix: string, kill: (dir: string) => void): Promise<void> {
  let names: string[];
  try {
    names = await readdir(tmpdir());
  } catch {
    return;
  }
  for (const name of names.filter((entry) => entry.startsWith(prefix))) {
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(await readFile(join(dir, OWNER_FILE), "utf8"));
    } catch {
      continue; // not marked yet (being created right now) or not ours
    }
    if (!(owner > 0) || isAlive(owner)) continue;
    try {
      kill(dir);
      await rm(dir, { recursive: true, force: true });
    } catch {
      // Someone else is sweeping it, or it is not ours to remove.
    }
  }
}

/**
 * Sends `signal` to the pid in `pidFile` only if that process' command line mentions
 * `mustMention`, so a pid reused since (say, after a reboot) is never hit. Linux only
 * (/proc); elsewhere it does nothing.
 */
export function killRecorded(pidFile: string, mustMention: string, signal: NodeJS.Signals): void {
  try {
    const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
    if (!(pid > 0)) return;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    if (cmdline.includes(mustMention)) process.kill(pid, signal);
  } catch {
    // Gone already.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
