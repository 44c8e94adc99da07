import { context, type Tracer } from "@opentelemetry/api";
// sdk-trace-node's own context manager (same release); NodeTracerProvider.register() would also make the provider global.
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider, type Sampler, type SpanExporter } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { samplerOf, traceSettings } from "./trace-settings.ts";

/** Spans of this process, exported in batches; `tracer` is handed to whatever starts spans, never made global. */
export interface Tracing {
  tracer: Tracer;
  /** Exports every span ended so far (tests, before they look). */
  flush(): Promise<void>;
  /** Exports what is left and stops; called last on shutdown. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  exporter: SpanExporter;
  serviceName?: string;
  /** Unset: parent-based, always on (the OpenTelemetry default). */
  sampler?: Sampler;
}

let contextInstalled = false;

/**
 * Makes the OpenTelemetry context follow async calls (AsyncLocalStorage), once per process, so
 * spans nest. Costs nothing until a request first runs inside a context, which only a tracer
 * makes happen: with tracing off an incoming `traceparent` goes with the request instead.
 */
export function installTraceContext(): void {
  if (contextInstalled) return;
  contextInstalled = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

export function createTracing(options: TracingOptions): Tracing {
  installTraceContext();
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName ?? "breakwater-regional" })),
    ...(options.sampler && { sampler: options.sampler }),
    spanProcessors: [new BatchSpanProcessor(options.exporter)],
  });
  return {
    tracer: provider.getTracer("breakwater-regional"),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * Tracing as the standard `OTEL_*` variables say: on when an OTLP endpoint is set (and
 * `OTEL_SDK_DISABLED` is not `true`), else undefined. The exporter reads its own
 * `OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT` and `_COMPRESSION` (and their `_TRACES_` forms).
 */
export function tracingFromEnv(env: Record<string, string | undefined>): Tracing | undefined {
  const settings = traceSettings(env);
  if (!settings) return undefined;
  return createTracing({
    exporter: new OTLPTraceExporter({ url: settings.url }),
    serviceName: settings.serviceName,
    sampler: samplerOf(settings.sampler, settings.samplerArg),
  });
}
