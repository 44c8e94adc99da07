import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from "@opentelemetry/sdk-trace-node";
import { z } from "zod";

const samplers = [
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
  "always_on",
  "always_off",
  "traceidratio",
] as const;
export type SamplerName = (typeof samplers)[number];

/**
 * The standard OpenTelemetry variables regional honours, read where tracing is set up (as the
 * AWS SDK reads `AWS_*`), not in `config.ts`: they are the SDK's own, and a bad one stops start-up
 * with its name rather than being ignored as the SDK would.
 */
const schema = z.object({
  OTEL_SDK_DISABLED: z.string().optional(),
  OTEL_TRACES_EXPORTER: z.enum(["otlp", "none"], { message: "only otlp (or none) is supported" }).default("otlp"),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default("breakwater-regional"),
  OTEL_TRACES_SAMPLER: z.enum(samplers).default("parentbased_always_on"),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
});

export interface TraceSettings {
  /** Where spans go (OTLP over HTTP, JSON). */
  url: string;
  serviceName: string;
  sampler: SamplerName;
  /** The ratio of the `traceidratio` samplers. */
  samplerArg: number | undefined;
}

/** Tracing's settings, or undefined when tracing is off: no endpoint, `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. */
export function traceSettings(env: Record<string, string | undefined>): TraceSettings | undefined {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`Invalid configuration: ${problems.join("; ")}`);
  }
  const settings = result.data;
  if (settings.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true" || settings.OTEL_TRACES_EXPORTER === "none") return undefined;
  const base = settings.OTEL_EXPORTER_OTLP_ENDPOINT;
  // The signal's own endpoint is used as given; the shared one gets the traces path, as the OTLP spec says.
  const url = settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base === undefined ? undefined : `${base.replace(/\/$/, "")}/v1/traces`);
  if (url === undefined) return undefined;
  return {
    url,
    serviceName: settings.OTEL_SERVICE_NAME,
    sampler: settings.OTEL_TRACES_SAMPLER,
    samplerArg: settings.OTEL_TRACES_SAMPLER_ARG,
  };
}

export function samplerOf(name: SamplerName, ratio = 1): Sampler {
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}
