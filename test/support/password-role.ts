import { randomBytes } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import postgres from "postgres";

/** A login role that must give its password, with a database of its own, on the shared test server. */
export interface PasswordRole {
  role: string;
  database: string;
  /** The database's URL as that role, without a password. */
  url: string;
  /** Changes the role's password, as a rotation does. */
  setPassword(password: string): Promise<void>;
  /** Logs in with `password`: "ok", or the refusal's SQLSTATE. */
  loginWith(password: string): Promise<string>;
  /** Connections of the role that logged in after `since`. */
  loginsSince(since: Date): Promise<number>;
  drop(): Promise<void>;
}

/** Members of this role must give their password; every other role is trusted as before. */
const passwordGroup = "bw_password_logins";
const hbaLine = `host all +${passwordGroup} 127.0.0.1/32 scram-sha-256`;

/**
 * The shared test server trusts every login. One line put first in pg_hba.conf makes the
 * members of one group give a password (scram-sha-256), so a rotation can be tested without
 * a cluster of its own. Test files add it concurrently: each writes the same text, through
 * a rename, so none sees another's half-written file. It stays: it concerns test roles only.
 */
async function requirePasswords(admin: postgres.Sql): Promise<void> {
  await admin.unsafe(`create role ${passwordGroup} nologin`).catch((error: unknown) => {
    // duplicate_object: another test file made it first.
    if ((error as { code?: unknown }).code !== "42710") throw error;
  });
  const [hba] = await admin<{ setting: string }[]>`select setting from pg_settings where name = 'hba_file'`;
  const hbaFile = hba?.setting ?? "";
  const text = await readFile(hbaFile, "utf8");
  if (!text.startsWith(`${hbaLine}\n`)) {
    const next = `${hbaFile}.${randomBytes(4).toString("hex")}`;
    await writeFile(next, `${hbaLine}\n${text}`);
    await rename(next, hbaFile);
  }
  await admin`select pg_reload_conf()`;
}

export async function createPasswordRole(serverUrl: string, password: string): Promise<PasswordRole> {
  const role = `bw_rotating_${randomBytes(4).toString("hex")}`;
  const database = role;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await requirePasswords(admin);
  await admin.unsafe(`create role ${role} login password '${password}' in role ${passwordGroup}`);
  await admin.unsafe(`create database ${database} owner ${role}`);
  const url = new URL(serverUrl);
  const roleUrl = `postgres://${role}@${url.host}/${database}`;

  return {
    role,
    database,
    url: roleUrl,
    async setPassword(next) {
      await admin.unsafe(`alter role ${role} password '${next}'`);
    },
    async loginWith(given) {
      const sql = postgres(roleUrl, { max: 1, password: given, onnotice: () => {} });
      try {
        await sql`select 1`;
        return "ok";
      } catch (error) {
        return String((error as { code?: unknown }).code);
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
    async loginsSince(since) {
      const [row] = await admin<
        { count: number }[]
      >`select count(*)::int as count from pg_stat_activity where usename = ${role} and backend_start > ${since}`;
      return row?.count ?? 0;
    },
    async drop() {
      await admin.unsafe(`drop database if exists ${database} with (force)`);
      await admin.unsafe(`drop role if exists ${role}`);
      await admin.end();
    },
  };
}
