import { randomUUID } from "node:crypto";
import postgres from "postgres";

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A database of its own on the test Postgres, so test files never see each other's rows. */
export async function createTestDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `bw_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const cleanup = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}
