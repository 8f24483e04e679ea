/**
 * The gateway's Prometheus registry and metric definitions (docs/observability.md "Metrics"). Every metric is
 * prefixed `infergate_` and uses base units.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { createJobMetrics } from "../jobs/metrics.js";

/** A fresh registry with the gateway's metrics; one per gateway process (tests make their own). */
export function createMetrics() {
  const registry = new Registry();
  // prom-client's own names already say what they are (`process_cpu_seconds_total`,
  // `nodejs_eventloop_lag_seconds`); the prefix only namespaces them.
  collectDefaultMetrics({ register: registry, prefix: "infergate_" });
  // prom-client names three gauges `*_total`, which Prometheus reserves for counters (promtool
  // flags them); the per-type gauges beside them carry the same numbers.
  for (const name of ["handles", "requests", "resources"]) {
    registry.removeSingleMetric(`infergate_nodejs_active_${name}_total`);
  }
  const requests = new Counter({
    name: "infergate_requests_total",
    help: "Inference requests answered, by model, version, backend and result code (OK or a documented error code).",
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
  const breakerState = new Gauge({
    name: "infergate_breaker_state",
    help: "Circuit breaker state per target: 0 closed, 1 open, 2 half-open.",
    labelNames: ["model", "version", "backend"] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: "infergate_retries_total",
    help: "Backend call retries, by backend and result (sent, or skipped: budget, deadline).",
    labelNames: ["backend", "result"] as const,
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: "infergate_fallbacks_total",
    help: "Requests answered by a fallback target, by model, version and the fallback's backend.",
    labelNames: ["model", "version", "backend"] as const,
    registers: [registry],
  });
  const shed = new Counter({
    name: "infergate_shed_total",
    help: "Requests refused with OVERLOADED because a target's in-flight limit and queue were full.",
    labelNames: ["backend"] as const,
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: "infergate_queue_depth",
    help: "Requests waiting for an in-flight slot of a target.",
    labelNames: ["model", "version", "backend"] as const,
    registers: [registry],
  });
  const ejections = new Counter({
    name: "infergate_replica_ejections_total",
    help: "Replica ejections by outlier detection, by backend and replica address.",
    labelNames: ["backend", "replica"] as const,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: "infergate_batch_size",
    help: "Rows (dimension 0) per batched backend call, by backend.",
    labelNames: ["backend"] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const batchQueueDepth = new Gauge({
    name: "infergate_batch_queue_depth",
    help: "Requests waiting in a target's batcher.",
    labelNames: ["model", "version", "backend"] as const,
    registers: [registry],
  });
  const batchQueueWait = new Histogram({
    name: "infergate_batch_queue_wait_seconds",
    help: "Time a request waited in the batcher before its batch left.",
    labelNames: ["backend"] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [registry],
  });
  const cacheRequests = new Counter({
    name: "infergate_cache_requests_total",
    help: "Response cache lookups, by tier (memory, redis) and result (hit, miss, bypass).",
    labelNames: ["tier", "result"] as const,
    registers: [registry],
  });
  const cacheBytes = new Gauge({
    name: "infergate_cache_bytes",
    help: "Bytes held by the in-process response cache.",
    registers: [registry],
  });
  const shadowMaxAbsDiff = new Histogram({
    name: "infergate_shadow_max_abs_diff",
    help: "Largest absolute difference between the primary's and the shadow's outputs, per request.",
    labelNames: ["model", "primary", "shadow"] as const,
    buckets: [0, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10],
    registers: [registry],
  });
  const shadowArgmax = new Counter({
    name: "infergate_shadow_argmax_total",
    help: "Shadow comparisons of outputs with a class axis, by whether the argmax agreed (true/false).",
    labelNames: ["model", "primary", "shadow", "agree"] as const,
    registers: [registry],
  });
  const shadowErrors = new Counter({
    name: "infergate_shadow_errors_total",
    help: "Shadow requests that failed.",
    labelNames: ["model", "primary", "shadow"] as const,
    registers: [registry],
  });
  const shadowDropped = new Counter({
    name: "infergate_shadow_dropped_total",
    help: "Shadow copies dropped because the shadow queue was full.",
    labelNames: ["model", "shadow"] as const,
    registers: [registry],
  });
  const shadowLatencyDiff = new Histogram({
    name: "infergate_shadow_latency_diff_seconds",
    help: "Shadow latency minus primary latency, per compared request (negative: the shadow was faster).",
    labelNames: ["model", "primary", "shadow"] as const,
    buckets: [-1, -0.1, -0.01, -0.001, 0, 0.001, 0.01, 0.1, 1, 10],
    registers: [registry],
  });
  const rolloutWeight = new Gauge({
    name: "infergate_rollout_weight",
    help: "Current share (0-100) of the canary version of a progressive rollout.",
    labelNames: ["model", "version"] as const,
    registers: [registry],
  });
  const rollbacks = new Counter({
    name: "infergate_rollout_rollbacks_total",
    help: "Automatic rollbacks of progressive rollouts.",
    labelNames: ["model", "version"] as const,
    registers: [registry],
  });
  return {
    registry,
    shadowMaxAbsDiff,
    shadowArgmax,
    shadowErrors,
    shadowDropped,
    shadowLatencyDiff,
    rolloutWeight,
    rollbacks,
    batchSize,
    batchQueueDepth,
    batchQueueWait,
    cacheRequests,
    cacheBytes,
    requests,
    requestDuration,
    backendRequests,
    configReloads,
    breakerState,
    retries,
    fallbacks,
    shed,
    queueDepth,
    ejections,
    jobs: createJobMetrics(registry),
  };
}

/** The gateway's metrics. */
export type Metrics = ReturnType<typeof createMetrics>;
