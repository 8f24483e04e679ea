/**
 * The gateway's Prometheus registry and metric definitions (SPEC section 5). Every metric is
 * prefixed `infergate_` and uses base units.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** A fresh registry with the gateway's metrics; one per gateway process (tests make their own). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "infergate_process_" });
  const requests = new Counter({
    name: "infergate_requests_total",
    help: "Inference requests answered, by model, version, backend and result code (OK or a SPEC error code).",
    labelNames: ["model", "version", "backend", "code"] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: "infergate_request_duration_seconds",
    help: "Inference request latency at the gateway, by model and version.",
    labelNames: ["model", "version"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const backendRequests = new Counter({
    name: "infergate_backend_requests_total",
    help: "Calls to backends, by backend and outcome (success, client_error, error, timeout, unavailable).",
    labelNames: ["backend", "outcome"] as const,
    registers: [registry],
  });
  const configReloads = new Counter({
    name: "infergate_config_reloads_total",
    help: "Config reload attempts, by result (success or failure).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  return { registry, requests, requestDuration, backendRequests, configReloads };
}

/** The gateway's metrics. */
export type Metrics = ReturnType<typeof createMetrics>;
