import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BackendCall, BackendResult } from "../backends/types.js";
import type { BatchingConfig } from "../config/schema.js";
import { BackendError, BackendTimeoutError, GatewayError, InvalidRequestError } from "../errors.js";
import type { NamedTensor } from "../tensor/types.js";
import { Batcher, type BatcherOptions } from "./batcher.js";
import type { InferFn, TargetCall } from "./types.js";

const FAR = 10_000_000_000_000; // a deadline that never passes in these tests
const TARGET = { backend: "b", model: "m" };

interface Req {
  rows?: number;
  deadline?: number;
  signal?: AbortSignal;
  outputs?: string[];
  /** Inputs in the order id, x instead of x, id. */
  reversed?: boolean;
  /** Columns of x (dimension 1). */
  cols?: number;
  datatype?: "FP64" | "FP32";
}

/** A tagged request: x[r] = [tag * 1000 + r, r, 0...] and id[r] = tag, `rows` rows. */
function request(tag: number, opts: Req = {}): TargetCall {
  const rows = opts.rows ?? 1;
  const cols = opts.cols ?? 2;
  const values = new Array<number>(rows * cols).fill(0);
  for (let r = 0; r < rows; r++) {
    values[r * cols] = tag * 1000 + r;
    if (cols > 1) values[r * cols + 1] = r;
  }
  const x: NamedTensor = {
    name: "x",
    datatype: opts.datatype ?? "FP64",
    shape: [rows, cols],
    data: opts.datatype === "FP32" ? Float32Array.from(values) : Float64Array.from(values),
  };
  const id: NamedTensor = {
    name: "id",
    datatype: "INT32",
    shape: [rows],
    data: new Int32Array(rows).fill(tag),
  };
  const call: BackendCall = {
    id: `r${tag}`,
    inputs: opts.reversed === true ? [id, x] : [x, id],
    deadline: opts.deadline ?? FAR,
    signal: opts.signal ?? new AbortController().signal,
  };
  if (opts.outputs !== undefined) call.outputs = opts.outputs;
  return { target: TARGET, call };
}

function input(call: BackendCall, name: string): NamedTensor {
  const t = call.inputs.find((i) => i.name === name);
  if (t === undefined) throw new Error(`no input ${name}`);
  return t;
}

function output(result: BackendResult, name: string): NamedTensor {
  const t = result.outputs.find((o) => o.name === name);
  if (t === undefined) throw new Error(`no output ${name}`);
  return t;
}

/** A fake backend: y = x * 2, id = id; records every call; `answer` can override the result. */
function fakeBackend(answer?: (call: BackendCall) => Promise<BackendResult>) {
  const calls: BackendCall[] = [];
  const next: InferFn = (r) => {
    calls.push(r.call);
    if (answer !== undefined) return answer(r.call);
    const x = input(r.call, "x");
    const y: NamedTensor = {
      name: "y",
      datatype: x.datatype,
      shape: [...x.shape],
      data: (x.data as Float64Array).map((v) => v * 2),
    };
    const id = { ...input(r.call, "id"), name: "id" };
    const wanted = r.call.outputs;
    const outputs = [y, id].filter((o) => wanted === undefined || wanted.includes(o.name));
    return Promise.resolve({ outputs, modelVersion: "7" });
  };
  /** Rows of each call, in order. */
  const sizes = () => calls.map((c) => input(c, "x").shape[0]);
  /** Tags in each call, in row order. */
  const tags = () => calls.map((c) => [...(input(c, "id").data as Int32Array)]);
  return { next, calls, sizes, tags };
}

/** Checks an answer computed from request `tag` with `rows` rows. */
function expectOwn(result: BackendResult, tag: number, rows = 1): void {
  const y = output(result, "y");
  expect(y.shape).toEqual([rows, 2]);
  const want: number[] = [];
  for (let r = 0; r < rows; r++) want.push((tag * 1000 + r) * 2, r * 2);
  expect([...(y.data as Float64Array)]).toEqual(want);
  const id = output(result, "id");
  expect([...(id.data as Int32Array)]).toEqual(new Array<number>(rows).fill(tag));
  expect(result.modelVersion).toBe("7");
}

type Outcome =
  | { state: "pending" }
  | { state: "ok"; value: BackendResult }
  | { state: "err"; error: unknown };

function track(promise: Promise<BackendResult>): { readonly outcome: Outcome } {
  const box: { outcome: Outcome } = { outcome: { state: "pending" } };
  promise.then(
    (value) => {
      box.outcome = { state: "ok", value };
    },
    (error: unknown) => {
      box.outcome = { state: "err", error };
    },
  );
  return box;
}

function errorOf(box: { readonly outcome: Outcome }): GatewayError {
  const { outcome } = box;
  if (outcome.state !== "err") throw new Error(`expected an error, got ${outcome.state}`);
  if (!(outcome.error instanceof GatewayError)) throw new Error("not a GatewayError");
  return outcome.error;
}

function resultOf(box: { readonly outcome: Outcome }): BackendResult {
  const { outcome } = box;
  if (outcome.state !== "ok") throw new Error(`expected a result, got ${outcome.state}`);
  return outcome.value;
}

function nth<T>(items: readonly T[], i: number): T {
  const item = items[i];
  if (item === undefined) throw new Error(`no item ${i}`);
  return item;
}

function setup(config: Partial<BatchingConfig>, extra: Partial<BatcherOptions> = {}) {
  const backend = fakeBackend();
  const depths: number[] = [];
  const batches: number[] = [];
  const batcher = new Batcher({
    config: { maxBatchSize: 4, maxDelayMs: 10, maxQueue: 100, ...config },
    onQueueDepth: (d) => depths.push(d),
    onBatch: (rows) => batches.push(rows),
    ...extra,
  });
  const fn = batcher.policy(backend.next);
  return { batcher, backend, fn, depths, batches };
}

/** Lets promise callbacks run (no timers involved). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("Batcher batch sizes", () => {
  it("sends 10 single-row arrivals at t=0 as [4, 4] at once and [2] exactly at maxDelayMs", async () => {
    const { fn, backend, batcher, batches } = setup({ maxBatchSize: 4, maxDelayMs: 10 });
    const boxes = Array.from({ length: 10 }, (_, tag) => track(fn(request(tag))));
    expect(backend.sizes()).toEqual([4, 4]);
    expect(batcher.queued).toBe(2);
    await vi.advanceTimersByTimeAsync(9);
    expect(backend.sizes()).toEqual([4, 4]);
    await vi.advanceTimersByTimeAsync(1);
    expect(backend.sizes()).toEqual([4, 4, 2]);
    expect(batches).toEqual([4, 4, 2]);
    expect(backend.tags()).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    await flush();
    boxes.forEach((box, tag) => {
      expectOwn(resultOf(box), tag);
    });
    expect(batcher.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("times a batch from its first arrival, not its last", async () => {
    const { fn, backend } = setup({ maxBatchSize: 4, maxDelayMs: 10 });
    fn(request(1));
    await vi.advanceTimersByTimeAsync(3);
    fn(request(2));
    await vi.advanceTimersByTimeAsync(6);
    fn(request(3));
    expect(backend.sizes()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1); // t = 10
    expect(backend.tags()).toEqual([[1, 2, 3]]);
    await vi.advanceTimersByTimeAsync(2); // t = 12: a new batch, due at 22
    fn(request(4));
    await vi.advanceTimersByTimeAsync(9);
    expect(backend.sizes()).toEqual([3]);
    await vi.advanceTimersByTimeAsync(1);
    expect(backend.tags()).toEqual([[1, 2, 3], [4]]);
  });

  it("closes a batch a request would overflow: 3 rows then 2 rows with max 4 -> [3], [2]", async () => {
    const { fn, backend } = setup({ maxBatchSize: 4, maxDelayMs: 10 });
    const a = track(fn(request(1, { rows: 3 })));
    expect(backend.sizes()).toEqual([]);
    const b = track(fn(request(2, { rows: 2 })));
    expect(backend.sizes()).toEqual([3]);
    await vi.advanceTimersByTimeAsync(10);
    expect(backend.sizes()).toEqual([3, 2]);
    await flush();
    expectOwn(resultOf(a), 1, 3);
    expectOwn(resultOf(b), 2, 2);
  });

  it("sends at once when a request makes the batch exactly full", async () => {
    const { fn, backend } = setup({ maxBatchSize: 4, maxDelayMs: 10 });
    const a = track(fn(request(1, { rows: 2 })));
    const b = track(fn(request(2, { rows: 2 })));
    expect(backend.sizes()).toEqual([4]);
    expect(vi.getTimerCount()).toBe(0);
    await flush();
    expectOwn(resultOf(a), 1, 2);
    expectOwn(resultOf(b), 2, 2);
  });

  it("sends a request of maxBatchSize rows or more alone at once, leaving the open batch alone", async () => {
    const { fn, backend, batches } = setup({ maxBatchSize: 4, maxDelayMs: 10 });
    const small = track(fn(request(1)));
    const big = track(fn(request(2, { rows: 6 })));
    expect(backend.tags()).toEqual([[2, 2, 2, 2, 2, 2]]);
    await flush();
    expectOwn(resultOf(big), 2, 6);
    expect(small.outcome.state).toBe("pending");
    await vi.advanceTimersByTimeAsync(10);
    expect(backend.tags()).toEqual([[2, 2, 2, 2, 2, 2], [1]]);
    expect(batches).toEqual([6, 1]);
  });

  it("never delays anything with maxBatchSize 1", async () => {
    const { fn, backend } = setup({ maxBatchSize: 1, maxDelayMs: 50 });
    const boxes = [1, 2, 3].map((tag) => track(fn(request(tag))));
    expect(backend.tags()).toEqual([[1], [2], [3]]);
    expect(vi.getTimerCount()).toBe(0);
    await flush();
    boxes.forEach((box, i) => {
      expectOwn(resultOf(box), i + 1);
    });
  });
});

describe("Batcher routing", () => {
  it("keeps arrival order in the batch and hands each owner its own rows", async () => {
    const { fn, backend } = setup({ maxBatchSize: 8, maxDelayMs: 5 });
    const a = track(fn(request(10, { rows: 1 })));
    const b = track(fn(request(20, { rows: 3, reversed: true })));
    const c = track(fn(request(30, { rows: 2 })));
    await vi.advanceTimersByTimeAsync(5);
    expect(backend.calls).toHaveLength(1);
    const call = backend.calls[0];
    if (call === undefined) throw new Error("no call");
    // One fixed name order whatever order each request listed its inputs in.
    expect(call.inputs.map((i) => i.name)).toEqual(["id", "x"]);
    expect(call.inputs.map((i) => i.shape)).toEqual([[6], [6, 2]]);
    expect([...(input(call, "id").data as Int32Array)]).toEqual([10, 20, 20, 20, 30, 30]);
    expect([...(input(call, "x").data as Float64Array)]).toEqual([
      10000, 0, 20000, 0, 20001, 1, 20002, 2, 30000, 0, 30001, 1,
    ]);
    expect(call.outputs).toBeUndefined();
    await flush();
    expectOwn(resultOf(a), 10, 1);
    expectOwn(resultOf(b), 20, 3);
    expectOwn(resultOf(c), 30, 2);
  });

  it("batches different signatures separately", async () => {
    const { fn, backend } = setup({ maxBatchSize: 8, maxDelayMs: 5 });
    const boxes = [
      track(fn(request(1))),
      track(fn(request(2, { cols: 3 }))),
      track(fn(request(3, { datatype: "FP32" }))),
      track(fn(request(4, { outputs: ["y"] }))),
      track(fn(request(5))),
      track(fn(request(6, { outputs: ["y"] }))),
      track(fn(request(7, { cols: 3 }))),
    ];
    await vi.advanceTimersByTimeAsync(5);
    expect(backend.tags().sort((p, q) => (p[0] ?? 0) - (q[0] ?? 0))).toEqual([
      [1, 5],
      [2, 7],
      [3],
      [4, 6],
    ]);
    const yOnly = backend.calls.find((c) => input(c, "id").data[0] === 4);
    expect(yOnly?.outputs).toEqual(["y"]);
    await flush();
    const only = resultOf(nth(boxes, 3));
    expect(only.outputs.map((o) => o.name)).toEqual(["y"]);
    expect([...(output(only, "y").data as Float64Array)]).toEqual([8000, 0]);
    expectOwn(resultOf(nth(boxes, 4)), 5);
  });

  it("passes rank-0 inputs and inputs disagreeing on dimension 0 straight through", () => {
    const { fn, backend, batcher } = setup({ maxBatchSize: 8, maxDelayMs: 5 });
    const scalar: TargetCall = {
      target: TARGET,
      call: {
        inputs: [{ name: "x", datatype: "FP64", shape: [], data: Float64Array.of(1) }],
        deadline: FAR,
        signal: new AbortController().signal,
      },
    };
    const ragged = request(1, { rows: 2 });
    const call = { ...ragged.call, inputs: [...ragged.call.inputs] };
    call.inputs[1] = { name: "id", datatype: "INT32", shape: [3], data: new Int32Array(3) };
    void fn(scalar).catch(() => undefined);
    void fn({ target: TARGET, call }).catch(() => undefined);
    expect(backend.calls).toEqual([scalar.call, call]);
    expect(batcher.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("gives the batch call the latest deadline, the shared outputs and an all-aborted signal", async () => {
    const now = Date.now();
    const ctrls = [new AbortController(), new AbortController()];
    const pending = fakeBackend(() => new Promise<BackendResult>(() => {}));
    const batcher = new Batcher({ config: { maxBatchSize: 8, maxDelayMs: 5, maxQueue: 10 } });
    const slow = batcher.policy(pending.next);
    const a = track(
      slow(request(1, { deadline: now + 900, signal: ctrls[0]?.signal, outputs: ["y"] })),
    );
    const b = track(
      slow(request(2, { deadline: now + 2000, signal: ctrls[1]?.signal, outputs: ["y"] })),
    );
    await vi.advanceTimersByTimeAsync(5);
    const call = pending.calls[0];
    if (call === undefined) throw new Error("no call");
    expect(call.deadline).toBe(now + 2000);
    expect(call.outputs).toEqual(["y"]);
    const reason = new BackendTimeoutError("client 1 gave up");
    ctrls[0]?.abort(reason);
    await flush();
    expect(call.signal.aborted).toBe(false);
    expect(errorOf(a)).toBe(reason);
    expect(b.outcome.state).toBe("pending");
    ctrls[1]?.abort(new Error("gone"));
    await flush();
    expect(call.signal.aborted).toBe(true);
    expect(errorOf(b).code).toBe("BACKEND_TIMEOUT");
    expect(pending.calls).toHaveLength(1);
  });
});

describe("Batcher failures", () => {
  it("times out a request whose deadline passes while queued, at its deadline, and never sends it", async () => {
    const { fn, backend, batcher } = setup({ maxBatchSize: 8, maxDelayMs: 20 });
    const now = Date.now();
    const keep = track(fn(request(1)));
    const late = track(fn(request(2, { deadline: now + 5 })));
    await vi.advanceTimersByTimeAsync(4);
    expect(late.outcome.state).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    expect(errorOf(late).code).toBe("BACKEND_TIMEOUT");
    expect(batcher.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(15);
    expect(backend.tags()).toEqual([[1]]);
    await flush();
    expectOwn(resultOf(keep), 1);
  });

  it("refuses a request whose deadline already passed", async () => {
    const { fn, backend } = setup({});
    const box = track(fn(request(1, { deadline: Date.now() })));
    await flush();
    expect(errorOf(box).code).toBe("BACKEND_TIMEOUT");
    expect(backend.calls).toHaveLength(0);
  });

  it("takes an aborted request out of the queue with the abort reason and never sends it", async () => {
    const { fn, backend, batcher, depths } = setup({ maxBatchSize: 8, maxDelayMs: 10 });
    const ctrl = new AbortController();
    const lone = new AbortController();
    const gone = track(fn(request(1, { signal: ctrl.signal })));
    const keep = track(fn(request(2)));
    const reason = new BackendTimeoutError("deadline of 3 ms passed");
    ctrl.abort(reason);
    await flush();
    expect(errorOf(gone)).toBe(reason);
    expect(batcher.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(10);
    expect(backend.tags()).toEqual([[2]]);
    await flush();
    expectOwn(resultOf(keep), 2);
    // A batch whose every member left sends nothing and leaves no timer behind.
    const alone = track(fn(request(3, { signal: lone.signal })));
    lone.abort();
    await flush();
    expect(errorOf(alone).code).toBe("BACKEND_TIMEOUT");
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(50);
    expect(backend.calls).toHaveLength(1);
    expect(depths).toEqual([1, 2, 1, 0, 1, 0]);
  });

  it("refuses with OVERLOADED beyond maxQueue waiting requests, but admits one that fills a batch", async () => {
    const { fn, backend, batcher } = setup({ maxBatchSize: 10, maxDelayMs: 10, maxQueue: 3 });
    for (const tag of [1, 2, 3]) fn(request(tag));
    const refused = track(fn(request(4, { cols: 3 })));
    await flush();
    const err = errorOf(refused);
    expect(err.code).toBe("OVERLOADED");
    expect(err.status).toBe(503);
    expect(err.retryAfterSeconds).toBe(1);
    expect(batcher.queued).toBe(3);
    const filler = track(fn(request(5, { rows: 7 })));
    expect(backend.sizes()).toEqual([10]);
    await flush();
    expectOwn(resultOf(filler), 5, 7);
    expect(batcher.queued).toBe(0);
  });

  it("fails every member of a failed batch with the same error", async () => {
    const failure = new BackendError("backend exploded");
    const backend = fakeBackend(() => Promise.reject(failure));
    const batcher = new Batcher({ config: { maxBatchSize: 3, maxDelayMs: 10, maxQueue: 10 } });
    const fn = batcher.policy(backend.next);
    const boxes = [1, 2, 3].map((tag) => track(fn(request(tag))));
    await flush();
    expect(backend.calls).toHaveLength(1);
    for (const box of boxes) expect(errorOf(box)).toBe(failure);
  });

  it("re-runs members alone when the backend rejects a batch's input, so only the culprit gets 400", async () => {
    // The backend rejects any call that contains tag 2.
    const rejecting = fakeBackend();
    const backend = fakeBackend((call) =>
      [...(input(call, "id").data as Int32Array)].includes(2)
        ? Promise.reject(new InvalidRequestError("tag 2 is not allowed"))
        : rejecting.next({ target: TARGET, call }),
    );
    const batcher = new Batcher({ config: { maxBatchSize: 3, maxDelayMs: 10, maxQueue: 10 } });
    const fn = batcher.policy(backend.next);
    const boxes = [1, 2, 3].map((tag) => track(fn(request(tag))));
    await flush();
    expect(backend.calls).toHaveLength(4);
    expectOwn(resultOf(nth(boxes, 0)), 1);
    expect(errorOf(nth(boxes, 1)).message).toBe("tag 2 is not allowed");
    expectOwn(resultOf(nth(boxes, 2)), 3);
  });

  it("fails every member with BACKEND_ERROR when an answer's dimension 0 is not the batch's rows", async () => {
    const backend = fakeBackend((call) =>
      Promise.resolve({
        outputs: [
          { ...input(call, "id"), name: "id" },
          { name: "y", datatype: "FP64", shape: [2, 2], data: new Float64Array(4) },
        ],
      }),
    );
    const batcher = new Batcher({ config: { maxBatchSize: 3, maxDelayMs: 10, maxQueue: 10 } });
    const fn = batcher.policy(backend.next);
    const boxes = [1, 2, 3].map((tag) => track(fn(request(tag))));
    await flush();
    for (const box of boxes) {
      const err = errorOf(box);
      expect(err.code).toBe("BACKEND_ERROR");
      expect(err.message).toContain('output "y" of shape [2,2]');
    }
  });
});

describe("Batcher lifecycle and hooks", () => {
  it("reports queue waits on the injected clock and runs on the injected timer", async () => {
    let clock = 100;
    const timers: Array<{ fn: () => void; at: number; cleared: boolean }> = [];
    const waits: number[] = [];
    const { fn, backend } = setup(
      { maxBatchSize: 4, maxDelayMs: 7 },
      {
        now: () => clock,
        onQueueWait: (ms) => waits.push(ms),
        setTimer: (f, ms) => {
          const t = { fn: f, at: clock + ms, cleared: false };
          timers.push(t);
          return { clear: () => (t.cleared = true) };
        },
      },
    );
    fn(request(1));
    clock = 103;
    fn(request(2));
    expect(timers.map((t) => t.at)).toEqual([107]);
    expect(vi.getTimerCount()).toBe(0);
    clock = 107;
    timers[0]?.fn();
    expect(backend.tags()).toEqual([[1, 2]]);
    expect(waits).toEqual([7, 4]);
  });

  it("close() sends open batches now and passes later requests straight through", async () => {
    const { fn, backend, batcher } = setup({ maxBatchSize: 4, maxDelayMs: 10 });
    const a = track(fn(request(1)));
    batcher.close();
    expect(backend.tags()).toEqual([[1]]);
    expect(vi.getTimerCount()).toBe(0);
    fn(request(2));
    expect(backend.tags()).toEqual([[1], [2]]);
    await flush();
    expectOwn(resultOf(a), 1);
  });
});

/** A small seeded PRNG (mulberry32), so the mass test is the same run every time. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("Batcher under load", () => {
  it("routes 100,000 tagged requests of 1-3 rows with zero mix-ups", async () => {
    const N = 100_000;
    const backend = fakeBackend();
    const batcher = new Batcher({ config: { maxBatchSize: 32, maxDelayMs: 2, maxQueue: 1024 } });
    const fn = batcher.policy(backend.next);
    const random = prng(5);
    const rows: number[] = [];
    const results: Array<Promise<BackendResult>> = [];
    for (let tag = 0; tag < N; tag++) {
      const r = 1 + Math.floor(random() * 3);
      rows.push(r);
      results.push(fn(request(tag, { rows: r, reversed: random() < 0.5 })));
      const gap = random();
      // Mostly bursts, sometimes a pause long enough for the delay to close a batch.
      if (gap > 0.9) vi.advanceTimersByTime(gap > 0.98 ? 3 : 1);
      if (tag % 1000 === 999) await flush();
    }
    await vi.advanceTimersByTimeAsync(10);
    const answers = await Promise.all(results);
    let mixups = 0;
    answers.forEach((answer, tag) => {
      const n = rows[tag] ?? 0;
      const y = output(answer, "y").data as Float64Array;
      const id = output(answer, "id").data as Int32Array;
      if (y.length !== n * 2 || id.length !== n) mixups++;
      for (let r = 0; r < n; r++) {
        if (y[r * 2] !== (tag * 1000 + r) * 2 || y[r * 2 + 1] !== r * 2 || id[r] !== tag) mixups++;
      }
    });
    expect(mixups).toBe(0);
    const sizes = backend.sizes();
    expect(Math.max(...sizes.map((s) => s ?? 0))).toBeLessThanOrEqual(32);
    expect(sizes.reduce<number>((sum, s) => sum + (s ?? 0), 0)).toBe(
      rows.reduce((a, b) => a + b, 0),
    );
    // Batching actually happened: far fewer calls than requests.
    expect(sizes.length).toBeLessThan(N / 5);
    expect(batcher.queued).toBe(0);
  });
});

describe("Batcher priority lanes", () => {
  const inLane = (tag: number, priority: "async" | "batch") => {
    const r = request(tag);
    r.call.priority = priority;
    return r;
  };

  it("bounds each lane by maxQueue on its own: queued async work never sheds a live request", async () => {
    const { fn, batcher } = setup({ maxBatchSize: 10, maxDelayMs: 10, maxQueue: 2 });
    fn(inLane(1, "async"));
    fn(inLane(2, "async"));
    const refused = track(fn(inLane(3, "async")));
    const live = track(fn(request(4)));
    await flush();
    expect(errorOf(refused).code).toBe("OVERLOADED");
    expect(live.outcome.state).toBe("pending");
    expect(batcher.queued).toBe(3);
    await vi.advanceTimersByTimeAsync(10);
    expectOwn(resultOf(live), 4);
    expect(batcher.queued).toBe(0);
  });

  it("shares batches across lanes and sends a batch in the lane of its most urgent member", async () => {
    const { fn, backend } = setup({ maxBatchSize: 3, maxDelayMs: 10 });
    const members = [fn(inLane(1, "batch")), fn(inLane(2, "async")), fn(inLane(3, "batch"))];
    const live = [fn(inLane(4, "batch")), fn(request(5)), fn(inLane(6, "async"))];
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all([...members, ...live]);
    expect(backend.tags()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(backend.calls.map((c) => c.priority)).toEqual(["async", "live"]);
  });
});
