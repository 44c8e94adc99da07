import { createReadStream } from "node:fs";
import { mkdir, open, readFile, unlink, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Logger } from "../logger.ts";
import { parseRecord, type AuditRecord } from "./event.ts";

/**
 * The local append-only file that holds audit events while Postgres cannot take them: one
 * JSON record per line, each write fsynced before the events in it count as durable.
 * Only the audit writer of this process touches it (its flushes run one at a time).
 */
export interface Journal {
  readonly path: string;
  /** True while the file holds events that may not be in Postgres yet. */
  hasPending(): boolean;
  /** The events (lines, a skipped unreadable one included) and bytes the file holds now. */
  stats(): { events: number; bytes: number };
  /** Appends the records and fsyncs; when it resolves they survive a crash or power loss. */
  append(records: AuditRecord[]): Promise<void>;
  /** The stored records in order, `batchSize` at a time. A torn or unreadable line is skipped. */
  read(batchSize: number): AsyncIterable<AuditRecord[]>;
  /** Empties the file once everything in it is in Postgres. */
  clear(): Promise<void>;
  close(): Promise<void>;
}

export function journalPath(dir: string, region: string): string {
  return join(dir, `audit-journal-${region.replace(/[^A-Za-z0-9_-]/g, "_")}.jsonl`);
}

/**
 * Opens (creating) the region's journal under `dir`. A crash can leave a last line half
 * written; it was never acknowledged (acks follow the fsync of the whole write), so it is cut
 * off here, before the next append could glue a good line onto it.
 */
export async function openJournal(dir: string, region: string, logger: Logger): Promise<Journal> {
  await mkdir(dir, { recursive: true });
  const path = journalPath(dir, region);
  const lock = await takeLock(`${path}.lock`);
  const handle: FileHandle = await open(path, "a+", 0o600);
  await syncDir(dir);
  let size = await cutTornTail(handle, path, logger);
  let events = await countLines(handle, size);

  return {
    path,
    hasPending: () => size > 0,
    stats: () => ({ events, bytes: size }),

    async append(records) {
      if (records.length === 0) return;
      const bytes = Buffer.from(`${records.map((record) => JSON.stringify(record)).join("\n")}\n`, "utf8");
      try {
        let written = 0;
        while (written < bytes.length) written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
        await handle.datasync();
        size += bytes.length;
        events += records.length;
      } catch (error) {
        // Leave no partial line behind for the next append to land on.
        await handle.truncate(size).catch(() => {});
        throw error;
      }
    },

    async *read(batchSize) {
      if (size === 0) return;
      const lines = createInterface({ input: createReadStream(path, { start: 0, end: size - 1, encoding: "utf8" }), crlfDelay: Infinity });
      let batch: AuditRecord[] = [];
      let skipped = 0;
      for await (const line of lines) {
        const record = parseLine(line);
        if (!record) {
          if (line.trim() !== "") skipped++;
          continue;
        }
        batch.push(record);
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
      if (skipped > 0) logger.warn("audit journal lines skipped as unreadable", { path, skipped });
    },

    async clear() {
      await handle.truncate(0);
      await handle.datasync();
      size = 0;
      events = 0;
    },

    async close() {
      await handle.close();
      await unlink(lock).catch(() => {});
    },
  };
}

/**
 * One process per journal: another one replaying and emptying it while this one appends
 * would lose events. The lock file names its owner; an owner that is gone (killed) leaves
 * a stale lock that the next start takes over.
 */
async function takeLock(lock: string): Promise<string> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: "wx", mode: 0o600 });
      return lock;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number((await readFile(lock, "utf8").catch(() => "")).trim());
      if (owner > 0 && owner !== process.pid && alive(owner)) {
        throw new Error(
          `the audit journal ${lock.slice(0, -5)} is in use by process ${owner}; give each instance its own DATA_DIR (or remove the lock if that process is not a Breakwater service)`,
        );
      }
      await unlink(lock).catch(() => {});
    }
  }
  throw new Error(`could not lock the audit journal (${lock})`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function parseLine(line: string): AuditRecord | null {
  try {
    return parseRecord(JSON.parse(line));
  } catch {
    return null;
  }
}

async function cutTornTail(handle: FileHandle, path: string, logger: Logger): Promise<number> {
  const { size } = await handle.stat();
  if (size === 0) return 0;
  const tail = Buffer.alloc(Math.min(size, 64 * 1024));
  let end = size;
  // Walk back to the last newline; everything after it is a torn write.
  while (end > 0) {
    const start = Math.max(0, end - tail.length);
    const { bytesRead } = await handle.read(tail, 0, end - start, start);
    const newline = tail.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (newline >= 0) {
      const keep = start + newline + 1;
      if (keep < size) {
        await handle.truncate(keep);
        await handle.datasync();
        logger.warn("audit journal: cut a torn last line", { path, bytes: size - keep });
      }
      return keep;
    }
    end = start;
  }
  await handle.truncate(0);
  await handle.datasync();
  logger.warn("audit journal: cut a torn last line", { path, bytes: size });
  return 0;
}

/** The lines in the first `size` bytes: what a previous run left, counted once at open. */
async function countLines(handle: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  let lines = 0;
  for (let at = 0; at < size;) {
    const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, size - at), at);
    if (bytesRead === 0) break;
    const read = chunk.subarray(0, bytesRead);
    for (let i = read.indexOf(0x0a); i >= 0; i = read.indexOf(0x0a, i + 1)) lines++;
    at += bytesRead;
  }
  return lines;
}

/** Makes the file's directory entry durable too, so a new journal does not vanish on power loss. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the file's own fsyncs still hold.
  } finally {
    await handle.close();
  }
}
