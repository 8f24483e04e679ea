import { describe, expect, it } from "vitest";
import { createMetrics, type Metrics } from "../metrics/registry.js";
import type { NamedTensor } from "../tensor/index.js";
import { type ShadowCall, type ShadowOptions, ShadowRunner } from "./shadow.js";

const LABELS = { model: "iris", primary: "1", shadow: "2" };

function probs(data: number[]): NamedTensor {
  return {
    name: "probabilities",
    datatype: "FP32",
    shape: [data.length / 3, 3],
    data: Float32Array.from(data),
  };
}

const PRIMARY = [probs([0.1, 0.7, 0.2, 0.8, 0.1, 0.1, 0.2, 0.2, 0.6])];

function runner(options: Partial<ShadowOptions> = {}): { shadow: ShadowRunner; metrics: Metrics } {
  const metrics = options.metrics ?? createMetrics();
  return {
    shadow: new ShadowRunner({ maxInFlight: 64, maxQueue: 256, ...options, metrics }),
    metrics,
  };
}

/** Lets queued copies start and settled ones be recorded (they start on setImmediate). */
async function ticks(n = 4): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A metric's value for the series whose labels include `labels` (0 when there is none). */
async function read(
  metrics: Metrics,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name.replace(/_(sum|count|bucket)$/, ""));
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const series = values.find(
    (v) =>
      (!("metricName" in v) || v.metricName === undefined || v.metricName === name) &&
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return series?.value ?? 0;
}

describe("ShadowRunner comparisons", () => {
  it("records no difference and full agreement for identical outputs", async () => {
    const clock = [100, 130];
    const { shadow, metrics } = runner({ now: () => clock.shift() ?? 0 });
    shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 20 }, async () => ({ outputs: PRIMARY }));
    await ticks();
    expect(await read(metrics, "infergate_shadow_max_abs_diff_count", LABELS)).toBe(1);
    expect(await read(metrics, "infergate_shadow_max_abs_diff_sum", LABELS)).toBe(0);
    expect(
      await read(metrics, "infergate_shadow_max_abs_diff_bucket", { ...LABELS, le: "0" }),
    ).toBe(1);
    expect(await read(metrics, "infergate_shadow_argmax_total", { ...LABELS, agree: "true" })).toBe(
      3,
    );
    expect(
      await read(metrics, "infergate_shadow_argmax_total", { ...LABELS, agree: "false" }),
    ).toBe(0);
    expect(await read(metrics, "infergate_shadow_errors_total", LABELS)).toBe(0);
    // Shadow took 30 ms (its own clock readings), the primary 20 ms: +0.01 s.
    expect(await read(metrics, "infergate_shadow_latency_diff_seconds_sum", LABELS)).toBeCloseTo(
      0.01,
      9,
    );
    expect(await read(metrics, "infergate_shadow_latency_diff_seconds_count", LABELS)).toBe(1);
  });

  it("records the known largest difference of shifted outputs, once per request", async () => {
    const { shadow, metrics } = runner();
    const score = (v: number): NamedTensor => ({
      name: "score",
      datatype: "FP64",
      shape: [1],
      data: Float64Array.from([v]),
    });
    const shifted = [probs([0.35, 0.95, 0.45, 1.05, 0.35, 0.35, 0.45, 0.45, 0.85]), score(2.5)];
    shadow.submit(LABELS, { outputs: [...PRIMARY, score(2)], latencyMs: 1 }, async () => ({
      outputs: shifted,
    }));
    await ticks();
    expect(await read(metrics, "infergate_shadow_max_abs_diff_count", LABELS)).toBe(1);
    expect(await read(metrics, "infergate_shadow_max_abs_diff_sum", LABELS)).toBeCloseTo(0.5, 6);
    expect(
      await read(metrics, "infergate_shadow_max_abs_diff_bucket", { ...LABELS, le: "0.1" }),
    ).toBe(0);
    expect(
      await read(metrics, "infergate_shadow_max_abs_diff_bucket", { ...LABELS, le: "1" }),
    ).toBe(1);
    // A constant shift keeps every argmax.
    expect(await read(metrics, "infergate_shadow_argmax_total", { ...LABELS, agree: "true" })).toBe(
      3,
    );
  });

  it("counts disagreeing rows when the shadow swaps two classes", async () => {
    const { shadow, metrics } = runner();
    const swapped = [probs([0.7, 0.1, 0.2, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6])];
    shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, async () => ({ outputs: swapped }));
    shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, async () => ({ outputs: swapped }));
    await ticks();
    expect(
      await read(metrics, "infergate_shadow_argmax_total", { ...LABELS, agree: "false" }),
    ).toBe(4);
    expect(await read(metrics, "infergate_shadow_argmax_total", { ...LABELS, agree: "true" })).toBe(
      2,
    );
    expect(await read(metrics, "infergate_shadow_max_abs_diff_sum", LABELS)).toBeCloseTo(1.4, 6);
  });

  it("counts a shadow answering other shapes or outputs as an error", async () => {
    const errors: string[] = [];
    const { shadow, metrics } = runner({
      onError: (e) => errors.push(e instanceof Error ? e.message : "?"),
    });
    shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, async () => ({
      outputs: [probs([1, 0, 0])],
    }));
    shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, async () => ({ outputs: [] }));
    await ticks();
    expect(await read(metrics, "infergate_shadow_errors_total", LABELS)).toBe(2);
    expect(await read(metrics, "infergate_shadow_max_abs_diff_count", LABELS)).toBe(0);
    expect(errors).toEqual([
      "output probabilities has shape [1,3], not [3,3]",
      "the shadow answered a different set of outputs",
    ]);
  });
});

describe("ShadowRunner isolation", () => {
  it("counts failing shadows as errors and throws nothing", async () => {
    const { shadow, metrics } = runner();
    const failures: ShadowCall[] = [
      async () => {
        throw new Error("backend down");
      },
      () => {
        throw new Error("thrown before any promise");
      },
      async () => ({}) as { outputs: NamedTensor[] },
      () => Promise.reject("not even an Error"),
    ];
    for (const run of failures) {
      expect(shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, run)).toBeUndefined();
    }
    await ticks();
    expect(await read(metrics, "infergate_shadow_errors_total", LABELS)).toBe(4);
    expect(shadow.inFlight).toBe(0);
  });

  it("survives metrics that throw and labels with extra keys", async () => {
    const { shadow, metrics } = runner();
    metrics.shadowErrors.inc = () => {
      throw new Error("registry broken");
    };
    shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, async () => {
      throw new Error("down");
    });
    const extra = { ...LABELS, tenant: "a" };
    shadow.submit(extra, { outputs: PRIMARY, latencyMs: 1 }, async () => ({ outputs: PRIMARY }));
    await ticks();
    expect(await read(metrics, "infergate_shadow_max_abs_diff_count", LABELS)).toBe(1);
    expect(shadow.inFlight).toBe(0);
  });

  it("returns from submit before a slow shadow starts or resolves", async () => {
    const { shadow, metrics } = runner();
    const answer = deferred<{ outputs: NamedTensor[] }>();
    let calls = 0;
    shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, () => {
      calls++;
      return answer.promise;
    });
    // The copy starts on a later turn of the event loop, not on the caller's stack.
    expect(calls).toBe(0);
    await ticks();
    expect(calls).toBe(1);
    expect(shadow.inFlight).toBe(1);
    expect(await read(metrics, "infergate_shadow_max_abs_diff_count", LABELS)).toBe(0);
    answer.resolve({ outputs: PRIMARY });
    await ticks();
    expect(shadow.inFlight).toBe(0);
    expect(await read(metrics, "infergate_shadow_max_abs_diff_count", LABELS)).toBe(1);
  });

  it("frees the slot of a shadow that outlives its timeout and aborts it", async () => {
    const { shadow, metrics } = runner({ timeoutMs: 5 });
    let signal: AbortSignal | undefined;
    shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, (s) => {
      signal = s;
      return new Promise(() => {});
    });
    await ticks();
    expect(signal?.aborted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(signal?.aborted).toBe(true);
    expect(shadow.inFlight).toBe(0);
    expect(await read(metrics, "infergate_shadow_errors_total", LABELS)).toBe(1);
  });
});

describe("ShadowRunner bounds", () => {
  it("runs at most maxInFlight, queues maxQueue and drops and counts the rest", async () => {
    const { shadow, metrics } = runner({ maxInFlight: 2, maxQueue: 3 });
    const answers: Array<(value: { outputs: NamedTensor[] }) => void> = [];
    const run: ShadowCall = () => new Promise((resolve) => answers.push(resolve));
    for (let i = 0; i < 10; i++) shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, run);
    expect(
      await read(metrics, "infergate_shadow_dropped_total", { model: "iris", shadow: "2" }),
    ).toBe(5);
    await ticks();
    expect(answers).toHaveLength(2);
    expect(shadow.queued).toBe(3);
    // Each answer frees a slot for the next waiting copy; never more than two run.
    for (let done = 0; done < 5; done++) {
      answers[done]?.({ outputs: PRIMARY });
      await ticks();
      expect(shadow.inFlight).toBeLessThanOrEqual(2);
    }
    expect(answers).toHaveLength(5);
    expect(await read(metrics, "infergate_shadow_max_abs_diff_count", LABELS)).toBe(5);
    expect(shadow.inFlight + shadow.queued).toBe(0);
  });

  it("samples 0 % never, 100 % always and 10 % about a tenth", () => {
    const edges = [0, 0.1, 0.5, 0.999999];
    for (const r of edges) {
      const { shadow } = runner({ random: () => r });
      expect(shadow.sample(0)).toBe(false);
      expect(shadow.sample(100)).toBe(true);
    }
    // mulberry32: a seeded generator, so the count is the same on every run.
    let seed = 42;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    const { shadow } = runner({ random });
    let copied = 0;
    for (let i = 0; i < 10_000; i++) if (shadow.sample(10)) copied++;
    expect(copied).toBeGreaterThan(850);
    expect(copied).toBeLessThan(1150);
  });
});

describe("ShadowRunner.close", () => {
  it("waits for running shadows, drops waiting ones and refuses new work", async () => {
    const { shadow, metrics } = runner({ maxInFlight: 1, maxQueue: 4 });
    const answer = deferred<{ outputs: NamedTensor[] }>();
    let calls = 0;
    const run: ShadowCall = () => {
      calls++;
      return answer.promise;
    };
    shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, run);
    shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, run);
    await ticks();
    let closed = false;
    const closing = shadow.close(60_000).then(() => {
      closed = true;
    });
    await ticks();
    expect(closed).toBe(false);
    answer.resolve({ outputs: PRIMARY });
    await closing;
    expect(closed).toBe(true);
    expect(await read(metrics, "infergate_shadow_max_abs_diff_count", LABELS)).toBe(1);
    shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, run);
    await ticks();
    expect(calls).toBe(1);
    // The one waiting at close and the one submitted after it.
    expect(
      await read(metrics, "infergate_shadow_dropped_total", { model: "iris", shadow: "2" }),
    ).toBe(2);
  });

  it("gives up on a shadow that never answers after the timeout, aborting it", async () => {
    const { shadow } = runner();
    let signal: AbortSignal | undefined;
    shadow.submit(LABELS, { outputs: PRIMARY, latencyMs: 1 }, (s) => {
      signal = s;
      return new Promise(() => {});
    });
    await ticks();
    await shadow.close(5);
    expect(signal?.aborted).toBe(true);
  });
});

describe("ShadowRunner options", () => {
  it("refuses a runner without a slot or with a negative queue", () => {
    expect(() => runner({ maxInFlight: 0 })).toThrow(RangeError);
    expect(() => runner({ maxQueue: -1 })).toThrow(RangeError);
    expect(() => runner({ maxInFlight: 1, maxQueue: 0 })).not.toThrow();
  });
});
