import type { PasswordSource } from "../db/password.ts";
import type { Logger } from "../logger.ts";
import type { LiveSecret, SecretsManagerRef } from "./live-secret.ts";
import type { Secrets } from "./secrets.ts";

/** Between logins that found nothing new to try: about when Secrets Manager may be read again. */
const waitWhenNothingNewMs = 500;

/**
 * DATABASE_PASSWORD as a Secrets Manager reference. Logins use the current version; when
 * Postgres refuses it, the secret is read again at once. A rotation sets the new password
 * on the database before it makes it current (it is staged as AWSPENDING meanwhile), so
 * while the current one is still the refused one, the pending one is tried.
 */
export function rotatingPassword(secrets: Secrets, ref: SecretsManagerRef, logger: Logger): PasswordSource {
  const current = secrets.secret(ref, "AWSCURRENT", "DATABASE_PASSWORD");
  // Asked for only after a refusal: most services never need it.
  let pending: LiveSecret | undefined;
  /** The pending version, used while the current one is still `over`. */
  let override: { value: string; over: string | undefined } | undefined;
  let lastWarned: string | undefined;

  return {
    async get() {
      const now = await current.get();
      if (now === undefined) throw new Error(`${current.reference} has no current version`);
      if (override && override.over === now) return override.value;
      override = undefined;
      return now;
    },

    async refused(password) {
      if (lastWarned !== password) {
        lastWarned = password;
        logger.warn("Postgres refused the database password (28P01); reading it again", { reference: current.reference });
      }
      if (override?.value === password) override = undefined;
      const reason = "Postgres refused the password (28P01)";
      const now = await current.refresh(reason);
      if (now !== undefined && now !== password) return true;
      pending ??= secrets.secret(ref, "AWSPENDING", "DATABASE_PASSWORD");
      const next = await pending.refresh(reason);
      if (next !== undefined && next !== password) {
        override = { value: next, over: now };
        return true;
      }
      // Nothing new yet (the secret is being rotated, or set by hand after the database): wait, then try again.
      await new Promise((done) => setTimeout(done, waitWhenNothingNewMs));
      return true;
    },
  };
}
