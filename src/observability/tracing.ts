/**
 * OpenTelemetry tracing (docs/access.md "Tracing"), off unless `tracing.endpoint` or
 * OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. Spans go out over
 * OTLP/HTTP (protobuf, or JSON with `http/json`). W3C `traceparent` is read from requests by the
 * fronts (trace-front.ts) and written into every HTTP backend call by the undici instrumentation,
 * which also makes one client span per backend attempt (retries and fallbacks included).
 */
import { context, propagation, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { ParentBasedSampler, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace-base";
import type { TracingConfig } from "./schema.js";
import { tracingRequested } from "./start.js";
import { setTracingEnabled } from "./trace-front.js";

/** A started tracer provider. */
export interface Tracing {
  /** Sends the spans still buffered and stops. */
  shutdown(): Promise<void>;
}

let running: Tracing | undefined;

/**
 * Starts tracing for the process when configured; undefined when it is off. The provider is
 * global (OpenTelemetry's API has one), so a second call returns the first one's.
 */
export function startTracing(
  config: TracingConfig | undefined,
  env: Record<string, string | undefined> = process.env,
): Tracing | undefined {
  if (running !== undefined) return running;
  const tracesUrl =
    config?.endpoint !== undefined
      ? `${config.endpoint.replace(/\/+$/, "")}/v1/traces`
      : env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (!tracingRequested(config, env)) return undefined;
  const protocol =
    config?.protocol ??
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    "http/protobuf";
  // Without a url the exporters read the OTEL_EXPORTER_OTLP_* variables themselves.
  const options = tracesUrl === undefined ? {} : { url: tracesUrl };
  const exporter =
    protocol === "http/json" ? new JsonExporter(options) : new ProtoExporter(options);
  const sdk = new NodeSDK({
    serviceName: config?.serviceName ?? env.OTEL_SERVICE_NAME ?? "infergate",
    traceExporter: exporter,
    sampler: new ParentBasedSampler({
      root: new TraceIdRatioBasedSampler(config?.sampleRatio ?? 1),
    }),
    instrumentations: [new UndiciInstrumentation()],
    // Traces only: metrics stay with /metrics, logs with pino.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  setTracingEnabled(true);
  const started: Tracing = {
    shutdown: async () => {
      running = undefined;
      setTracingEnabled(false);
      await sdk.shutdown();
      // Unregister the globals too, so a later start in this process (tests) registers anew.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
  running = started;
  return started;
}
