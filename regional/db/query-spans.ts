import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";
import type postgres from "postgres";
import { withinTrace } from "../observability/scoped-context.ts";

/** Which pool's queries are traced, and as which node: `primary`, `replica-1`, ... */
export interface QuerySpans {
  tracer: Tracer;
  node: string;
}

/** The parts of a postgres.js query this wraps: the driver calls `handler` to run it, then `resolve` or `reject`. */
interface PendingQuery {
  strings: readonly string[];
  tagged: boolean;
  handler: (query: PendingQuery) => void;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

const isPendingQuery = (value: unknown): value is PendingQuery =>
  value instanceof Promise &&
  typeof (value as Partial<PendingQuery>).handler === "function" &&
  typeof (value as Partial<PendingQuery>).resolve === "function" &&
  typeof (value as Partial<PendingQuery>).reject === "function";

interface Statement {
  name: string;
  attributes: Attributes;
}

/** A call site's statement, worked out once: its template strings are the same array on every call. */
const statements = new WeakMap<readonly string[], Statement>();

/**
 * What a span says of a query, values never among it: a tagged template's text with `?` for
 * each interpolation (a value, or a fragment), and for `unsafe` text, which may hold literals,
 * only its operation and table.
 */
function statementOf(query: PendingQuery): Statement {
  const known = statements.get(query.strings);
  if (known) return known;
  const text = query.strings.join("?").replace(/\s+/g, " ").trim();
  const operation = /^\(?\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? "QUERY";
  const table = /\b(?:from|into|update|join)\s+("?[\w.]+"?)/i.exec(text)?.[1];
  const summary = table === undefined ? operation : `${operation} ${table}`;
  const statement: Statement = {
    name: summary,
    attributes: {
      "db.operation.name": operation,
      "db.query.summary": summary,
      ...(query.tagged && { "db.query.text": text.slice(0, 2_000) }),
    },
  };
  if (query.tagged) statements.set(query.strings, statement);
  return statement;
}

const nodeAttributes = (node: string): Attributes => ({
  "db.system.name": "postgresql",
  "db.system": "postgresql",
  "breakwater.db.node": node,
});

function failed(span: Span, error: unknown): void {
  // The SQLSTATE or the driver's code (CONNECTION_CLOSED ...), never the message: it may quote values.
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  span.setAttribute("error.type", typeof code === "string" ? code : "error");
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** Spans the query from when the driver runs it (a pool wait included) to its answer, under the span that was active where it was written. */
function watch(query: PendingQuery, spans: QuerySpans, node: Attributes, parent: Context): void {
  const { handler, resolve, reject } = query;
  let span: Span | undefined;
  // A fragment (a query nested in another) is never run itself, so it never gets a span.
  query.handler = (self) => {
    // Run again after a refused login (password.ts): still the one query, the one span.
    if (!span) {
      const statement = statementOf(query);
      span = spans.tracer.startSpan(statement.name, { kind: SpanKind.CLIENT, attributes: { ...node, ...statement.attributes } }, parent);
    }
    handler(self);
  };
  query.resolve = (result) => {
    const rows = (result as { count?: unknown } | undefined)?.count;
    if (typeof rows === "number") span?.setAttribute("db.response.returned_rows", rows);
    span?.end();
    resolve(result);
  };
  query.reject = (error) => {
    if (span) failed(span, error);
    span?.end();
    reject(error);
  };
}

/**
 * The pool with a span per query — tagged templates and `unsafe`, also inside `begin`, whose
 * transaction is a span of its own — on `spans.tracer`. postgres.js has no hook for this, so it
 * wraps the query objects as they are made; `reserve()`d connections, `savepoint`, cursors,
 * `file`, `listen` and `copy` go untraced.
 */
export function tracedSql(sql: postgres.Sql, spans: QuerySpans): postgres.Sql {
  const node = nodeAttributes(spans.node);
  const begin = (...args: unknown[]): Promise<unknown> => {
    const fn = args.pop() as (tx: postgres.TransactionSql) => unknown;
    const parent = context.active();
    const span = spans.tracer.startSpan("transaction", { kind: SpanKind.CLIENT, attributes: node }, parent);
    const run = () =>
      Reflect.apply(sql.begin, sql, [...args, (tx: postgres.TransactionSql) => fn(withQuerySpans(tx, spans, node))]) as Promise<unknown>;
    return withinTrace(trace.setSpan(parent, span), run).then(
      (result) => {
        span.end();
        return result;
      },
      (error: unknown) => {
        failed(span, error);
        span.end();
        throw error;
      },
    );
  };
  return withQuerySpans(sql, spans, node, begin);
}

/** `sql` (a pool or a transaction) whose queries are watched; `begin`, when given, replaces the pool's. */
function withQuerySpans<S extends postgres.Sql | postgres.TransactionSql>(sql: S, spans: QuerySpans, node: Attributes, begin?: unknown): S {
  const traced = (query: unknown): unknown => {
    if (isPendingQuery(query)) watch(query, spans, node, context.active());
    return query;
  };
  const unsafe = (...args: unknown[]) => traced(Reflect.apply(sql.unsafe, sql, args));
  return new Proxy(sql, {
    apply: (target, thisArg, args: unknown[]) => traced(Reflect.apply(target, thisArg, args)),
    get(target, property, receiver) {
      if (property === "unsafe") return unsafe;
      if (property === "begin" && begin) return begin;
      return Reflect.get(target, property, receiver);
    },
  });
}
