import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { descendants } from "../test/support/process-tree.ts";

/**
 * Sockets a process holds, read from Linux's /proc: its file descriptors that are sockets.
 * `wrangler dev` runs two workerd processes: the Worker itself, and a proxy in front of it
 * that takes the clients' connections (it listens on the port wrangler prints); both are
 * found under the wrangler process and told apart by that port.
 */
export interface WorkerdProcesses {
  /** The edge Worker's workerd: its own subrequests and the proxy's connections to it. */
  worker: number;
  /** wrangler dev's proxy in front of it (not there in production). */
  devProxy: number | undefined;
}

/** Socket inodes of TCP sockets listening on `port`. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1]?.split(":")[1];
      // State 0A is LISTEN.
      if (local && fields[3] === "0A" && Number.parseInt(local, 16) === port && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

function socketInodes(pid: number): string[] {
  const inodes: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.push(match[1]);
    } catch {
      // Closed while being read.
    }
  }
  return inodes;
}

/** The workerd processes of a `wrangler dev` whose process is `wranglerPid`, serving clients on `port`. */
export function workerdProcesses(wranglerPid: number, port: number): WorkerdProcesses {
  const workerds = descendants(wranglerPid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("workerd");
    } catch {
      return false;
    }
  });
  const listening = listeningInodes(port);
  const devProxy = workerds.find((pid) => socketInodes(pid).some((inode) => listening.has(inode)));
  const worker = workerds.find((pid) => pid !== devProxy);
  if (worker === undefined) throw new Error(`no workerd process below ${wranglerPid}`);
  return { worker, devProxy };
}

/** How many sockets `pid` holds now; null once it is gone (workerd exits when it runs out of descriptors). */
export function socketCount(pid: number): number | null {
  try {
    return socketInodes(pid).length;
  } catch {
    return null;
  }
}
