import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { aggregateWorkerMetrics, isWorkerMetrics } from "./cluster-aggregate.js";

/** One worker's registry with the given numbers. */
async function worker(requests: number, breaker: number, queued: number, latency: number[]) {
  const registry = new Registry();
  new Counter({
    name: "infergate_requests_total",
    help: "h",
    labelNames: ["model"],
    registers: [registry],
  }).inc({ model: "iris" }, requests);
  new Gauge({
    name: "infergate_breaker_state",
    help: "h",
    labelNames: ["backend"],
    registers: [registry],
  }).set({ backend: "b" }, breaker);
  new Gauge({ name: "infergate_queue_depth", help: "h", registers: [registry] }).set(queued);
  const histogram = new Histogram({
    name: "infergate_request_duration_seconds",
    help: "h",
    buckets: [0.01, 0.1],
    registers: [registry],
  });
  for (const seconds of latency) histogram.observe(seconds);
  return registry.getMetricsAsJSON();
}

describe("aggregateWorkerMetrics", () => {
  it("sums counters, histograms and amounts, and takes the worst breaker state", async () => {
    const text = await aggregateWorkerMetrics([
      await worker(3, 0, 2, [0.005]),
      await worker(4, 1, 5, [0.05, 0.5]),
    ]);
    const lines = text.split("\n");
    expect(lines).toContain('infergate_requests_total{model="iris"} 7');
    expect(lines).toContain('infergate_breaker_state{backend="b"} 1');
    expect(lines).toContain("infergate_queue_depth 7");
    expect(lines).toContain('infergate_request_duration_seconds_bucket{le="0.01"} 1');
    expect(lines).toContain('infergate_request_duration_seconds_bucket{le="0.1"} 2');
    expect(lines).toContain("infergate_request_duration_seconds_count 3");
  });

  it("recognises prom-client JSON and refuses other shapes", async () => {
    expect(isWorkerMetrics(await worker(1, 0, 0, []))).toBe(true);
    expect(isWorkerMetrics([{ name: "x" }])).toBe(false);
    expect(isWorkerMetrics("metrics")).toBe(false);
  });
});
