/**
 * Starts tracing when it is configured, loading the OpenTelemetry SDK only then, so a gateway
 * without tracing never pays its start-up cost.
 */
import type { TracingConfig } from "./schema.js";
import type { Tracing } from "./tracing.js";

/** True when the config or the OTEL_* variables ask for traces. */
export function tracingRequested(
  config: TracingConfig | undefined,
  env: Record<string, string | undefined>,
): boolean {
  if (env.OTEL_SDK_DISABLED === "true" || env.OTEL_TRACES_EXPORTER === "none") return false;
  return (
    config?.endpoint !== undefined ||
    env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined ||
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined
  );
}

/** The started tracing, or undefined when it is off. */
export async function startTracingIfRequested(
  config: TracingConfig | undefined,
  env: Record<string, string | undefined> = process.env,
): Promise<Tracing | undefined> {
  if (!tracingRequested(config, env)) return undefined;
  const { startTracing } = await import("./tracing.js");
  return startTracing(config, env);
}
