import type { Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider, type Sampler, type SpanExporter } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { installScopedContext } from "./scoped-context.ts";
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

export function createTracing(options: TracingOptions): Tracing {
  installScopedContext();
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
