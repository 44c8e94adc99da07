import { context, ROOT_CONTEXT, type Context, type ContextManager } from "@opentelemetry/api";
// sdk-trace-node's own context manager (same release); NodeTracerProvider.register() would also make the provider global.
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";

/**
 * The active trace context, for code that cannot be handed one: the database layer, whose
 * query spans take the context active where a query is written. Everything on the request
 * path (attempts, provider headers, streams) is handed its context instead.
 *
 * Why scoped: on Node 20 an AsyncLocalStorage, once run, turns on promise hooks for the whole
 * process, and every promise of every request pays for them from then on (measured: 10–20 µs
 * a request). So a context is entered only around the work that needs it — a key looked up
 * in the database, an admin request — and the storage is disabled again, hooks and all, as
 * soon as no such work is in flight. Outside that work, `context.with` of anyone else (the
 * span exporter suppressing its own tracing) runs its function as it is, entering nothing.
 */
let inFlight = 0;

class ScopedContextManager extends AsyncLocalStorageContextManager {
  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    entered: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    if (inFlight === 0) return fn.call(thisArg, ...args);
    return super.with(entered, fn, thisArg, ...args);
  }
}

let manager: ContextManager | undefined;

/** Makes `withinTrace` enter contexts; tracing calls it once it is on. Until then `withinTrace` only runs its work. */
export function installScopedContext(): void {
  if (manager) return;
  manager = new ScopedContextManager();
  context.setGlobalContextManager(manager);
}

/**
 * Runs `work` with `trace` as the active context (database spans under the request's span),
 * or as it is with no trace, tracing off, or `trace` already active.
 */
export async function withinTrace<T>(trace: Context | undefined, work: () => Promise<T>): Promise<T> {
  if (!manager || trace === undefined || trace === ROOT_CONTEXT || context.active() === trace) return await work();
  inFlight += 1;
  try {
    return await context.with(trace, work);
  } finally {
    inFlight -= 1;
    if (inFlight === 0) manager.disable();
  }
}
