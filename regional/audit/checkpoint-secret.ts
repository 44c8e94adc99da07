import { createHash } from "node:crypto";

/** Signs checkpoints on a developer's machine only; anyone can read it here, so it proves nothing. */
const devDefault = "breakwater-dev-only-audit-checkpoint-secret";

export interface CheckpointSecret {
  key: Buffer;
  /** True when the dev default is in use; callers log it so nobody mistakes it for protection. */
  devDefault: boolean;
}

/**
 * The key for checkpoint signatures, from AUDIT_CHECKPOINT_SECRET. Without it, only a local
 * setup (embedded database or loopback-only listener) may fall back to the dev default; a
 * deployed service refuses to start rather than sign with a public key.
 */
export function checkpointSecret(configured: string | undefined, local: boolean): CheckpointSecret {
  if (configured) return { key: createHash("sha256").update(configured).digest(), devDefault: false };
  if (!local)
    throw new Error("AUDIT_CHECKPOINT_SECRET is required outside local mode: audit checkpoints must be signed with a real secret");
  return { key: createHash("sha256").update(devDefault).digest(), devDefault: true };
}
