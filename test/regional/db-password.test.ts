import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openPool } from "../../regional/db/node.ts";
import { fixedPassword, type PasswordSource } from "../../regional/db/password.ts";
import { createPasswordRole, type PasswordRole } from "../support/password-role.ts";

/**
 * A pool whose password rotates: a login Postgres refuses (28P01) ran nothing, so the query
 * that opened it is put back once the source has another password, whatever kind of call it
 * was. The database password is changed first and the source learns it only when asked.
 */
let role: PasswordRole;
beforeAll(async () => {
  role = await createPasswordRole(inject("primaryUrl"), "first-password");
});
afterAll(async () => role?.drop());

/** Hands out `given` until told it was refused, then `next`. */
function rotatingSource(given: string, next: string): PasswordSource & { refusals: string[] } {
  const refusals: string[] = [];
  let current = given;
  return {
    refusals,
    get: async () => current,
    async refused(password) {
      refusals.push(password);
      current = next;
      return true;
    },
  };
}

describe("a pool with a rotating password", () => {
  it("retries a query, a transaction and a reserved connection whose login was refused, with the new password", async () => {
    await role.setPassword("second-password");
    const source = rotatingSource("first-password", "second-password");
    const sql = openPool(role.url, { max: 3, connectTimeoutMs: 5_000, idleTimeoutMs: 0, password: source });
    try {
      // Three calls opening three connections at once, each refused once.
      const [values, inTransaction, reserved] = await Promise.all([
        sql`select 1 as one`.values(),
        sql.begin(async (tx) => (await tx`select 2 as two`)[0]),
        (async () => {
          const connection = await sql.reserve();
          try {
            return (await connection`select 3 as three`)[0];
          } finally {
            connection.release();
          }
        })(),
      ]);

      // The retried query kept what was asked of it (rows as arrays).
      expect(values).toEqual([[1]]);
      expect(inTransaction).toEqual({ two: 2 });
      expect(reserved).toEqual({ three: 3 });
      // Logins refused together may be told as the one the pool gave out last, so only this much is sure.
      expect(source.refusals).toContain("first-password");
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it("fails at once when the password was given in the configuration: nothing else to try", async () => {
    const sql = openPool(role.url, { max: 1, connectTimeoutMs: 5_000, idleTimeoutMs: 0, password: fixedPassword("not-the-password") });
    try {
      await expect(sql`select 1`).rejects.toMatchObject({ code: "28P01" });
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it("gives up after a few tries when no password works", async () => {
    let refusals = 0;
    const stuck: PasswordSource = { get: async () => "never-right", refused: async () => ++refusals > 0 };
    const sql = openPool(role.url, { max: 1, connectTimeoutMs: 5_000, idleTimeoutMs: 0, password: stuck });
    try {
      await expect(sql`select 1`).rejects.toMatchObject({ code: "28P01" });
      expect(refusals).toBe(5);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
