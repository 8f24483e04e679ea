import { describe, expect, it } from "vitest";
import { TritonStatistics } from "./statistics.js";

const ok = (
  ns: bigint,
  extra: Partial<{ cache: "hit" | "miss" | "off"; batched: boolean; rows: number }> = {},
) => ({
  ok: true,
  ns,
  cache: extra.cache ?? "off",
  batched: extra.batched ?? false,
  rows: extra.rows ?? 1,
});

describe("TritonStatistics", () => {
  it("is all zeros for a version that served nothing", () => {
    const s = new TritonStatistics().snapshot("m", "1");
    expect(s).toMatchObject({
      name: "m",
      version: "1",
      inference_count: 0,
      execution_count: 0,
      last_inference: 0,
    });
    expect(s.inference_stats.success).toEqual({ count: 0, ns: 0n });
    expect(s.batch_stats).toEqual([]);
  });

  it("counts unbatched successes, failures and cache hits; compute_infer leaves out queue and hits", () => {
    const stats = new TritonStatistics();
    stats.request("m", "1", ok(100n));
    stats.request("m", "1", ok(300n));
    stats.request("m", "1", ok(20n, { cache: "hit" }));
    stats.request("m", "1", { ok: false, ns: 50n, cache: "off", batched: false, rows: 1 });
    const s = stats.snapshot("m", "1");
    expect(s.inference_count).toBe(3);
    expect(s.execution_count).toBe(2);
    expect(s.inference_stats.success).toEqual({ count: 3, ns: 420n });
    expect(s.inference_stats.fail).toEqual({ count: 1, ns: 50n });
    expect(s.inference_stats.cache_hit).toEqual({ count: 1, ns: 20n });
    expect(s.inference_stats.compute_infer).toEqual({ count: 2, ns: 400n });
    expect(s.batch_stats.map((b) => [b.batch_size, b.compute_infer])).toEqual([
      [1, { count: 2, ns: 400n }],
    ]);
    expect(stats.snapshot("m", "2").inference_count).toBe(0);
  });

  it("takes executions and batch sizes from the batcher for batched targets", () => {
    const stats = new TritonStatistics();
    stats.request("m", "1", ok(1000n, { batched: true, rows: 2 }));
    stats.request("m", "1", ok(1000n, { batched: true, rows: 3 }));
    stats.queued("m", "1", 0.0001);
    stats.queued("m", "1", 0.0001);
    stats.batch("m", "1", 5);
    const s = stats.snapshot("m", "1");
    expect(s.inference_count).toBe(5);
    expect(s.execution_count).toBe(1);
    // 0.1 µs waits: queue 200 ns of the 2000 ns in the gateway, the rest is the backend's.
    expect(s.inference_stats.queue).toEqual({ count: 2, ns: 200n });
    expect(s.inference_stats.compute_infer).toEqual({ count: 2, ns: 1800n });
    expect(s.batch_stats.map((b) => [b.batch_size, b.compute_infer.count])).toEqual([[5, 1]]);
  });
});
