/**
 * `npm run audit:verify [region...]`: walks each region's audit chain in the database of
 * DATABASE_URL (embedded PGlite under DATA_DIR without it) and prints ok or the first broken
 * sequence number and why. Exits 1 when any chain is broken, 2 when it could not check.
 * Checkpoint signatures are checked with AUDIT_CHECKPOINT_SECRET, as the service signs them.
 */
import { checkpointSecret } from "../regional/audit/checkpoint-secret.ts";
import { auditRegions, verifyChain, type VerifyResult } from "../regional/audit/verify.ts";
import { loadConfig } from "../regional/config.ts";
import { dbOptionsFrom, openDb } from "../regional/db/index.ts";

function line(result: VerifyResult): string {
  if (result.broken)
    return `${result.region}: BROKEN at seq ${result.broken.seq}: ${result.broken.reason} (${result.events} events verified before it)`;
  const head = result.head ? `head seq ${result.head.seq} ${result.head.hash}` : "empty";
  return `${result.region}: ok, ${result.events} events, ${head}, ${result.checkpoints} signed checkpoints`;
}

async function main(): Promise<number> {
  const config = loadConfig();
  const secret = checkpointSecret(config.AUDIT_CHECKPOINT_SECRET, true);
  if (secret.devDefault) process.stderr.write("AUDIT_CHECKPOINT_SECRET is not set: checking checkpoints against the dev default secret\n");
  const db = await openDb(dbOptionsFrom(config));
  try {
    const wanted = process.argv.slice(2);
    const regions = wanted.length > 0 ? wanted : await auditRegions(db.write);
    if (regions.length === 0) process.stdout.write("no audit events yet\n");
    let broken = false;
    for (const region of regions) {
      const result = await verifyChain(db.write, region, secret.key);
      broken ||= !result.ok;
      process.stdout.write(`${line(result)}\n`);
    }
    return broken ? 1 : 0;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`audit:verify failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
