import type postgres from "postgres";

/**
 * A database password that may change while the service runs (a secret rotated in Secrets
 * Manager). Each new connection asks for it, so established connections live on and new
 * ones log in with the rotated password, without a restart.
 */
export interface PasswordSource {
  /** The password to log in with now. */
  get(): Promise<string>;
  /** Postgres refused `password` (28P01): true, once another login is worth trying. */
  refused(password: string): Promise<boolean>;
}

/** A password given in the configuration: nothing else to try when it is refused. */
export function fixedPassword(password: string): PasswordSource {
  return { get: async () => password, refused: async () => false };
}

/** invalid_password: the login failed, before the connection ran anything. */
const refusedLogin = "28P01";
/** Logins tried per query: the refused one, then up to this many after reading the password again. */
const maxRetries = 5;

const isRefusedLogin = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { code?: unknown }).code === refusedLogin;

interface PendingQuery {
  handler: (query: PendingQuery) => void;
  reject: (error: unknown) => void;
}

const isPendingQuery = (value: unknown): value is PendingQuery =>
  value instanceof Promise &&
  typeof (value as Partial<PendingQuery>).reject === "function" &&
  typeof (value as Partial<PendingQuery>).handler === "function";

/**
 * The pool, with every query whose connection could not log in given back to the pool once
 * the password was read again, instead of failing. A refused login ran nothing, so trying
 * again is safe for any query, a write included: a rotation under load then costs some
 * waiting and no failed request. postgres.js fails only the query that opened the
 * connection (the rest wait in the pool), so that query is the one put back.
 */
export function retryRefusedLogins(sql: postgres.Sql, source: PasswordSource, lastGiven: () => string | undefined): postgres.Sql {
  // The driver does not say which login a refusal was of: it is taken to be the last one
  // given out. Wrong only when logins straddle a change, it then costs a wait, not a failure.
  const refused = async (): Promise<boolean> => {
    const given = lastGiven();
    return given !== undefined && (await source.refused(given).catch(() => false));
  };

  const guard = <T>(query: T): T => {
    if (!isPendingQuery(query)) return query;
    const reject = query.reject;
    let retries = 0;
    query.reject = (error) => {
      if (!isRefusedLogin(error) || retries >= maxRetries) return reject(error);
      retries += 1;
      void refused().then((worthIt) => (worthIt ? query.handler(query) : reject(error)));
    };
    return query;
  };

  /** `begin` opens its connection inside the driver: when that login fails, nothing ran yet. */
  const again =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      for (let retries = 0; ; retries += 1) {
        try {
          return await call(...args);
        } catch (error) {
          if (!isRefusedLogin(error) || retries >= maxRetries || !(await refused())) throw error;
        }
      }
    };

  const begin = again(sql.begin.bind(sql) as (...args: unknown[]) => Promise<unknown>);
  // A reserve whose login fails stays queued in postgres.js and later takes a connection for
  // nobody, so it is not retried: a query first leaves a connection logged in with a password
  // that works, which the reserve then takes.
  const reserve = async () => {
    await guard(sql`select 1`);
    return await sql.reserve();
  };
  const unsafe = (...args: Parameters<typeof sql.unsafe>) => guard(sql.unsafe(...args));
  return new Proxy(sql, {
    apply: (target, thisArg, args: unknown[]) => guard(Reflect.apply(target, thisArg, args)),
    get(target, property, receiver) {
      if (property === "begin") return begin;
      if (property === "reserve") return reserve;
      if (property === "unsafe") return unsafe;
      return Reflect.get(target, property, receiver);
    },
  });
}
