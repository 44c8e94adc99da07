import { randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { startPostgres, type PostgresCluster } from "./postgres.ts";
import { waitUntil } from "./wait-until.ts";

const connect = (url: string): postgres.Sql => postgres(url, { max: 2, onnotice: () => {}, connect_timeout: 5 });

const countRows = async (sql: postgres.Sql, table: string): Promise<number> => {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(table)}`;
  return row?.n ?? -1;
};

describe("shared Postgres cluster (globalSetup)", () => {
  const primary = connect(inject("primaryUrl"));
  const replica = connect(inject("replicaUrl"));
  afterAll(async () => {
    await Promise.all([primary.end(), replica.end()]);
  });

  test("serves database breakwater as a primary and a read-only replica", async () => {
    const [p] = await primary`select current_database() as db, pg_is_in_recovery() as standby`;
    const [r] = await replica`select current_database() as db, pg_is_in_recovery() as standby`;
    expect(p).toEqual({ db: "breakwater", standby: false });
    expect(r).toEqual({ db: "breakwater", standby: true });
    await expect(replica`create table nope (x int)`).rejects.toThrow(/read-only transaction/);
  });

  test("a row written on the primary becomes visible on the replica", async () => {
    const table = `infra_${randomUUID().replaceAll("-", "")}`;
    await primary`create table ${primary(table)} (id int primary key)`;
    await primary`insert into ${primary(table)} values (1)`;
    await waitUntil("the row on the replica", async () => (await countRows(replica, table)) === 1, { timeoutMs: 10_000 });
    await primary`drop table ${primary(table)}`;
  });
});

// Pausing replay or stopping nodes would disturb other files sharing the globalSetup
// cluster, so these run against a cluster of their own.
describe("private Postgres cluster (startPostgres)", () => {
  let cluster: PostgresCluster;
  let primary: postgres.Sql;
  let replica: postgres.Sql;

  const hasItem = async (sql: postgres.Sql, id: number): Promise<boolean> => {
    const [row] = await sql<{ found: boolean }[]>`select exists (select 1 from items where id = ${id}) as found`;
    return row?.found === true;
  };

  beforeAll(async () => {
    cluster = await startPostgres({ database: "infra" });
    primary = connect(cluster.primaryUrl);
    replica = connect(cluster.replicaUrl);
    await primary`create table items (id int primary key)`;
    await cluster.waitForReplay();
  });
  afterAll(async () => {
    await Promise.allSettled([primary?.end(), replica?.end()]);
    await cluster?.stop();
  });

  test("paused replay holds back rows the replica already received; resume releases them", async () => {
    await cluster.pauseReplay();
    try {
      await primary`insert into items values (1)`;
      const [written] = await primary<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
      await waitUntil("the replica to receive the insert", async () => {
        const [row] = await replica<{ received: boolean }[]>`select pg_last_wal_receive_lsn() >= ${written?.lsn ?? ""}::pg_lsn as received`;
        return row?.received === true;
      });
      expect(await hasItem(replica, 1)).toBe(false);
    } finally {
      await cluster.resumeReplay();
    }
    await waitUntil("the row after resume", async () => await hasItem(replica, 1));
  });

  test("the replica keeps serving reads while the primary is down and catches up after its restart", async () => {
    await primary`insert into items values (2)`;
    await cluster.waitForReplay();
    await cluster.stopPrimary("immediate");
    await primary.end();
    expect(await hasItem(replica, 2)).toBe(true);

    await cluster.startPrimary();
    primary = connect(cluster.primaryUrl);
    await primary`insert into items values (3)`;
    await cluster.waitForReplay();
    expect(await hasItem(replica, 3)).toBe(true);
  });

  test("the primary keeps taking writes while the replica is down and the replica catches up after its restart", async () => {
    await cluster.stopReplica();
    await replica.end();
    await primary`insert into items values (4)`;

    await cluster.startReplica();
    replica = connect(cluster.replicaUrl);
    await cluster.waitForReplay();
    expect(await hasItem(replica, 4)).toBe(true);
  });
});

describe("Upstash REST shim (globalSetup)", () => {
  const url = inject("upstashUrl");
  const token = inject("upstashToken");
  const redis = new Redis({ url, token });
  const key = (name: string): string => `infra:${randomUUID()}:${name}`;

  test("@upstash/redis can set, get, incr and expire", async () => {
    const counter = key("counter");
    const doc = key("doc");
    expect(await redis.set(doc, { hello: "wörld", n: 1 })).toBe("OK");
    expect(await redis.get(doc)).toEqual({ hello: "wörld", n: 1 });
    expect(await redis.get(key("missing"))).toBeNull();
    expect(await redis.incr(counter)).toBe(1);
    expect(await redis.incrby(counter, 41)).toBe(42);
    expect(await redis.expire(counter, 60)).toBe(1);
    const ttl = await redis.ttl(counter);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await redis.set(doc, "v2", { nx: true })).toBeNull();
  });

  test("@upstash/redis reads hashes, sorted sets and nested arrays", async () => {
    const hash = key("hash");
    const zset = key("zset");
    await redis.hset(hash, { a: "1", b: "x y" });
    expect(await redis.hgetall(hash)).toEqual({ a: 1, b: "x y" });
    await redis.zadd(zset, { score: 1, member: "one" }, { score: 2, member: "two" });
    expect(await redis.zrange(zset, 0, -1, { withScores: true })).toEqual(["one", 1, "two", 2]);
    expect(await redis.eval("return {1, 'OK', {ARGV[1], 'b'}}", [], ["a"])).toEqual([1, "OK", ["a", "b"]]);
  });

  test("a pipeline runs every command and reports each result", async () => {
    const k = key("p");
    const results = await redis.pipeline().set(k, "1").incr(k).get(k).exec();
    expect(results).toEqual(["OK", 2, 2]);
  });

  test("a pipeline reports a failing command as an error", async () => {
    const k = key("p-err");
    await expect(redis.pipeline().set(k, "not a number").incr(k).exec()).rejects.toThrow(/not an integer/);
  });

  test("a multi-exec transaction applies its commands atomically", async () => {
    const a = key("a");
    const b = key("b");
    const results = await redis.multi().set(a, "1").set(b, "2").incr(a).mget(a, b).exec();
    expect(results).toEqual(["OK", "OK", 2, [2, 2]]);
  });

  test("a command error is a 400 with the Redis message", async () => {
    const k = key("wrongtype");
    await redis.set(k, "text");
    await expect(redis.incr(k)).rejects.toThrow(/ERR value is not an integer/);
    const response = await post(url, token, "/", ["INCR", k]);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "ERR value is not an integer or out of range" });
  });

  test("base64 encoding covers every string except a top-level OK", async () => {
    const k = key("raw");
    expect(await (await post(url, token, "/", ["SET", k, "bar"], { "Upstash-Encoding": "base64" })).json()).toEqual({ result: "OK" });
    expect(await (await post(url, token, "/", ["GET", k], { "Upstash-Encoding": "base64" })).json()).toEqual({ result: "YmFy" });
    expect(await (await post(url, token, "/", ["GET", k])).json()).toEqual({ result: "bar" });
    const pipeline = await post(url, token, "/pipeline", [["GET", k], ["STRLEN", k], ["GET", key("none")], ["NOPE"]], {
      "Upstash-Encoding": "base64",
    });
    expect(pipeline.status).toBe(200);
    expect(await pipeline.json()).toEqual([
      { result: "YmFy" },
      { result: 3 },
      { result: null },
      { error: expect.stringMatching(/^ERR unknown command/) },
    ]);
  });

  test("a transaction with a command rejected while queueing runs nothing", async () => {
    const k = key("discarded");
    const response = await post(url, token, "/multi-exec", [["SET", k, "1"], ["GET"]]);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: expect.stringMatching(/^EXECABORT/) });
    expect(await redis.get(k)).toBeNull();
  });

  test("path-style commands work like the REST API's GET form", async () => {
    const k = key("path");
    expect(await (await get(url, `/set/${encodeURIComponent(k)}/bar?EX=100&_token=${token}`)).json()).toEqual({ result: "OK" });
    expect(await (await get(url, `/get/${encodeURIComponent(k)}?_token=${token}`)).json()).toEqual({ result: "bar" });
  });

  test("a wrong or missing token gets 401", async () => {
    const wrong = new Redis({ url, token: "wrong", retry: false });
    await expect(wrong.get(key("x"))).rejects.toThrow(/Unauthorized/);
    expect((await post(url, "wrong", "/", ["PING"])).status).toBe(401);
    expect((await fetch(url, { method: "POST", body: '["PING"]' })).status).toBe(401);
  });
});

const post = async (base: string, token: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  await fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

const get = async (base: string, path: string): Promise<Response> => await fetch(`${base}${path}`);
