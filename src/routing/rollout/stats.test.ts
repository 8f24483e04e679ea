import { describe, expect, it } from "vitest";
import { ArmStats, LATENCY_BUCKETS, LatencyHistogram } from "./stats.js";

describe("LatencyHistogram", () => {
  it("is empty until something is added", () => {
    const h = new LatencyHistogram();
    expect(h.count).toBe(0);
    expect(h.quantile(0.99)).toBeNull();
  });

  it("finds the nearest-rank p99 within the 2% bucket error", () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i += 1) h.add(i);
    // Nearest rank ceil(0.99 * 1000) = 990.
    const p99 = h.quantile(0.99);
    expect(p99).not.toBeNull();
    expect(p99).toBeGreaterThanOrEqual(990);
    expect(p99).toBeLessThanOrEqual(990 * 1.02);
    expect(h.quantile(0.5)).toBeGreaterThanOrEqual(500);
    expect(h.quantile(0.5)).toBeLessThanOrEqual(500 * 1.02);
  });

  it("never reports more than the largest latency seen", () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 100; i += 1) h.add(7);
    expect(h.quantile(0.99)).toBe(7);
  });

  it("puts NaN and negative latencies at 0 and huge ones in the last bucket", () => {
    const h = new LatencyHistogram();
    h.add(Number.NaN);
    h.add(-5);
    expect(h.quantile(1)).toBe(0);
    h.add(1e12);
    expect(h.count).toBe(3);
    expect(h.quantile(1)).toBe(1e12);
    h.add(Number.POSITIVE_INFINITY);
    expect(h.quantile(1)).toBe(Number.POSITIVE_INFINITY);
  });

  it("keeps a fixed number of buckets with 1,000,000 distinct latencies", () => {
    const h = new LatencyHistogram();
    expect(h.size).toBe(LATENCY_BUCKETS);
    for (let i = 0; i < 1_000_000; i += 1) h.add(i / 100);
    expect(h.size).toBe(LATENCY_BUCKETS);
    expect(LATENCY_BUCKETS).toBeLessThan(2000);
    expect(h.count).toBe(1_000_000);
    const exact = (Math.ceil(0.99 * 1_000_000) - 1) / 100;
    expect(h.quantile(0.99)).toBeGreaterThanOrEqual(exact);
    expect(h.quantile(0.99)).toBeLessThanOrEqual(exact * 1.02);
  });

  it("forgets everything on reset", () => {
    const h = new LatencyHistogram();
    h.add(500);
    h.reset();
    expect(h.count).toBe(0);
    expect(h.quantile(0.99)).toBeNull();
    h.add(3);
    expect(h.quantile(0.99)).toBe(3);
  });
});

describe("ArmStats", () => {
  it("counts requests, errors and the error rate, and resets", () => {
    const s = new ArmStats();
    expect(s.errorRate).toBe(0);
    expect(s.summary()).toEqual({ requests: 0, errors: 0, p99Ms: null });
    s.record(true, 10);
    s.record(false, 10);
    s.record(true, 10);
    s.record(true, 10);
    expect(s.errorRate).toBe(0.25);
    expect(s.summary()).toEqual({ requests: 4, errors: 1, p99Ms: 10 });
    s.reset();
    expect(s.summary()).toEqual({ requests: 0, errors: 0, p99Ms: null });
  });
});

describe("ArmStats exchange between replicas", () => {
  it("merging two replicas' data equals recording everything in one place", () => {
    const a = new ArmStats();
    const b = new ArmStats();
    const all = new ArmStats();
    for (let i = 1; i <= 300; i += 1) {
      const latency = (i * 7919) % 250;
      const ok = i % 13 !== 0;
      (i % 3 === 0 ? a : b).record(ok, latency);
      all.record(ok, latency);
    }
    const merged = new ArmStats();
    // Through JSON, as it travels through Redis.
    merged.add(JSON.parse(JSON.stringify(a.data())));
    merged.add(JSON.parse(JSON.stringify(b.data())));
    expect(merged.summary()).toEqual(all.summary());
    expect(merged.latency.quantile(0.5)).toBe(all.latency.quantile(0.5));
    expect(merged.latency.max).toBe(all.latency.max);
  });

  it("sends only the non-empty buckets", () => {
    const s = new ArmStats();
    s.record(true, 5);
    s.record(true, 5);
    s.record(false, 900);
    const data = s.data();
    expect(data).toMatchObject({ requests: 3, errors: 1, max: 900 });
    expect(data.buckets).toHaveLength(4);
    expect(data.buckets[1]).toBe(2);
    expect(data.buckets[3]).toBe(1);
  });

  it("skips malformed entries from another replica instead of corrupting its own", () => {
    const s = new ArmStats();
    s.record(true, 10);
    s.add({
      requests: Number.NaN,
      errors: -4,
      max: Number.POSITIVE_INFINITY,
      buckets: [-1, 5, 1e9, 2, 3.5, 1, 7],
    });
    expect(s.summary()).toEqual({ requests: 1, errors: 0, p99Ms: 10 });
    expect(s.latency.count).toBe(1);
  });
});
