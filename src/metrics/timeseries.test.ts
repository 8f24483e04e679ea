import { describe, expect, it } from "vitest";
import { createMetrics } from "./registry.js";
import { quantile, TimeSeries } from "./timeseries.js";

describe("quantile", () => {
  it("interpolates inside the bucket that holds the rank", () => {
    // 10 observations: 4 up to 0.01 s, 6 more up to 0.1 s.
    const buckets: [number, number][] = [
      [0.01, 4],
      [0.1, 10],
      [Number.POSITIVE_INFINITY, 10],
    ];
    expect(quantile(0.5, buckets)).toBeCloseTo(0.01 + 0.09 * (1 / 6), 10);
    expect(quantile(0.2, buckets)).toBeCloseTo(0.005, 10);
  });

  it("is null without observations and the largest finite bound in the +Inf bucket", () => {
    expect(quantile(0.5, [[1, 0]])).toBeNull();
    const buckets: [number, number][] = [
      [1, 1],
      [Number.POSITIVE_INFINITY, 10],
    ];
    expect(quantile(0.99, buckets)).toBe(1);
  });
});

describe("TimeSeries", () => {
  it("turns counter deltas into per-second rate, error rate and latency quantiles", async () => {
    const metrics = createMetrics();
    const series = new TimeSeries(metrics);
    await series.sample(1_000_000); // baseline, no point
    expect(series.series()).toEqual({});
    for (let i = 0; i < 8; i++) {
      metrics.requests.inc({ model: "iris", version: "1", backend: "local", code: "OK" });
      metrics.requestDuration.observe({ model: "iris", version: "1" }, 0.003);
    }
    metrics.requests.inc({ model: "iris", version: "2", backend: "local", code: "OK" }, 1);
    metrics.requests.inc({ model: "iris", version: "2", backend: "b", code: "BACKEND_ERROR" }, 1);
    metrics.requestDuration.observe({ model: "iris", version: "2" }, 0.3);
    metrics.requestDuration.observe({ model: "iris", version: "2" }, 0.3);
    await series.sample(1_002_000); // two seconds later
    const iris = series.series("iris").iris!;
    expect(iris.t).toEqual([1002]);
    expect(iris.rate).toEqual([5]);
    expect(iris.errorRate).toEqual([0.1]);
    // 8 of 10 in (0.0025, 0.005]: the median is inside that bucket; p99 inside (0.25, 0.5].
    expect(iris.p50[0]).toBeGreaterThan(0.0025);
    expect(iris.p50[0]).toBeLessThanOrEqual(0.005);
    expect(iris.p99[0]).toBeGreaterThan(0.25);
    expect(iris.p99[0]).toBeLessThanOrEqual(0.5);

    // A quiet second: rate 0, no latency.
    await series.sample(1_003_000);
    const quiet = series.series("iris", 1).iris!;
    expect(quiet).toEqual({ t: [1003], rate: [0], errorRate: [0], p50: [null], p99: [null] });
  });

  it("keeps at most `capacity` points per model, newest last", async () => {
    const metrics = createMetrics();
    const series = new TimeSeries(metrics, { capacity: 3 });
    metrics.requests.inc({ model: "m", version: "1", backend: "b", code: "OK" });
    for (let s = 0; s <= 5; s++) await series.sample(s * 1000);
    expect(series.series().m!.t).toEqual([3, 4, 5]);
  });

  it("sums shadow argmax agreement and errors per model and shadow", async () => {
    const metrics = createMetrics();
    const series = new TimeSeries(metrics);
    const labels = { model: "iris", primary: "1", shadow: "2" };
    metrics.shadowArgmax.inc({ ...labels, agree: "true" }, 9);
    metrics.shadowArgmax.inc({ ...labels, agree: "false" }, 1);
    metrics.shadowErrors.inc(labels, 2);
    expect(await series.shadow()).toEqual([
      { model: "iris", primary: "1", shadow: "2", agree: 9, disagree: 1, errors: 2 },
    ]);
  });
});
