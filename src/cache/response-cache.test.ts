import { describe, expect, it } from "vitest";
import type { BackendResult, TargetRef } from "../backends/types.js";
import { BackendError, BackendTimeoutError } from "../errors.js";
import type { InferFn, TargetCall } from "../pipeline/types.js";
import type { NamedTensor } from "../tensor/index.js";
import { type CacheTier, type LookupResult, ResponseCache } from "./response-cache.js";

const target: TargetRef = { backend: "b", model: "m" };

function input(values: number[], name = "x"): NamedTensor {
  return { name, datatype: "FP32", shape: [values.length], data: Float32Array.from(values) };
}

function request(
  inputs: NamedTensor[],
  extra: { noCache?: boolean; signal?: AbortSignal; outputs?: string[] } = {},
): TargetCall {
  return {
    target,
    call: {
      inputs,
      outputs: extra.outputs,
      deadline: Date.now() + 60_000,
      signal: extra.signal ?? new AbortController().signal,
      noCache: extra.noCache,
    },
  };
}

/** A backend that doubles its input and counts calls; `generation` marks which call answered. */
function doubler() {
  const state = { calls: 0, generation: 0 };
  const next: InferFn = async ({ call }) => {
    state.calls++;
    const x = call.inputs[0];
    if (x === undefined || !(x.data instanceof Float32Array)) throw new Error("bad test input");
    const out = x.data.map((v) => v * 2 + state.generation);
    return {
      outputs: [{ name: "y", datatype: "FP32", shape: [...x.shape], data: out }],
      modelVersion: "7",
    };
  };
  return { state, next };
}

function fp32Data(result: BackendResult): Float32Array {
  const data = result.outputs[0]?.data;
  if (!(data instanceof Float32Array)) throw new Error("expected FP32 output");
  return data;
}

const values = (result: BackendResult): number[] => [...fp32Data(result)];

function recorder() {
  const lookups: Array<[CacheTier, LookupResult]> = [];
  const bytes: number[] = [];
  return {
    lookups,
    bytes,
    onLookup: (tier: CacheTier, result: LookupResult) => lookups.push([tier, result]),
    onBytes: (b: number) => bytes.push(b),
  };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("ResponseCache (in-process tier)", () => {
  it("misses, stores, then hits without calling the backend", async () => {
    const rec = recorder();
    const cache = new ResponseCache({ maxBytes: 1 << 20, ...rec });
    const { state, next } = doubler();
    const infer = cache.policy({ namespace: "m|1|b", ttlSeconds: 60 })(next);

    const first = await infer(request([input([1, 2])]));
    expect(first.cache).toBe("miss");
    expect(values(first)).toEqual([2, 4]);
    const second = await infer(request([input([1, 2])]));
    expect(second).toMatchObject({ cache: "hit", modelVersion: "7" });
    expect(second.outputs[0]).toMatchObject({ name: "y", datatype: "FP32", shape: [2] });
    expect(values(second)).toEqual([2, 4]);
    expect(state.calls).toBe(1);
    expect(rec.lookups).toEqual([
      ["memory", "miss"],
      ["memory", "hit"],
    ]);
    expect(cache.bytes).toBeGreaterThan(0);
    expect(rec.bytes.at(-1)).toBe(cache.bytes);

    // Another input is another key.
    expect((await infer(request([input([3])]))).cache).toBe("miss");
    expect(state.calls).toBe(2);
  });

  it("does not store an answer that carries parameters: a hit would lose them", async () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    const { state, next } = doubler();
    const withParameters: InferFn = async (c) => ({ ...(await next(c)), parameters: { step: 1 } });
    const infer = cache.policy({ namespace: "m|1|b", ttlSeconds: 60 })(withParameters);
    const first = await infer(request([input([1])]));
    const second = await infer(request([input([1])]));
    expect([first.cache, second.cache]).toEqual(["miss", "miss"]);
    expect(second.parameters).toEqual({ step: 1 });
    expect(state.calls).toBe(2);
    expect(cache.bytes).toBe(0);
  });

  it("keeps namespaces apart", async () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    const { state, next } = doubler();
    const v1 = cache.policy({ namespace: "m|1|b", ttlSeconds: 60 })(next);
    const v2 = cache.policy({ namespace: "m|2|b", ttlSeconds: 60 })(next);
    await v1(request([input([1])]));
    expect((await v2(request([input([1])]))).cache).toBe("miss");
    expect(state.calls).toBe(2);
  });

  it("returns copies: changing an answer does not change what is cached", async () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    const { next } = doubler();
    const infer = cache.policy({ namespace: "n", ttlSeconds: 60 })(next);
    const miss = await infer(request([input([1])]));
    fp32Data(miss).fill(99);
    const hit = await infer(request([input([1])]));
    fp32Data(hit).fill(98);
    expect(values(await infer(request([input([1])])))).toEqual([2]);
  });

  it("no-cache skips the lookup but stores the fresh answer", async () => {
    const rec = recorder();
    const cache = new ResponseCache({ maxBytes: 1 << 20, ...rec });
    const { state, next } = doubler();
    const infer = cache.policy({ namespace: "n", ttlSeconds: 60 })(next);
    await infer(request([input([1])]));
    state.generation = 100;
    const fresh = await infer(request([input([1])], { noCache: true }));
    expect(fresh.cache).toBe("miss");
    expect(values(fresh)).toEqual([102]);
    expect(state.calls).toBe(2);
    const hit = await infer(request([input([1])]));
    expect(hit.cache).toBe("hit");
    expect(values(hit)).toEqual([102]);
    expect(rec.lookups).toEqual([
      ["memory", "miss"],
      ["memory", "bypass"],
      ["memory", "hit"],
    ]);
  });

  it("expires answers after the TTL (fake clock)", async () => {
    let now = 1_000;
    const cache = new ResponseCache({ maxBytes: 1 << 20, now: () => now });
    const { state, next } = doubler();
    const infer = cache.policy({ namespace: "n", ttlSeconds: 10 })(next);
    await infer(request([input([1])]));
    now += 9_999;
    expect((await infer(request([input([1])]))).cache).toBe("hit");
    now += 2;
    expect((await infer(request([input([1])]))).cache).toBe("miss");
    expect(state.calls).toBe(2);
    // The fresh answer has a fresh TTL.
    now += 9_999;
    expect((await infer(request([input([1])]))).cache).toBe("hit");
  });

  it("caches only successful answers", async () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    let calls = 0;
    const flaky: InferFn = async () => {
      calls++;
      if (calls === 1) throw new BackendError("backend said 500");
      return {
        outputs: [{ name: "y", datatype: "INT32", shape: [1], data: Int32Array.of(calls) }],
      };
    };
    const infer = cache.policy({ namespace: "n", ttlSeconds: 60 })(flaky);
    await expect(infer(request([input([1])]))).rejects.toBeInstanceOf(BackendError);
    const ok = await infer(request([input([1])]));
    expect(ok.cache).toBe("miss");
    expect(ok.outputs[0]?.data).toEqual(Int32Array.of(2));
    expect((await infer(request([input([1])]))).cache).toBe("hit");
    expect(calls).toBe(2);
  });

  it("never holds more than maxBytes, evicting the least recently used", async () => {
    const rec = recorder();
    const maxBytes = 4_000;
    const cache = new ResponseCache({ maxBytes, ...rec });
    const { state, next } = doubler();
    const infer = cache.policy({ namespace: "n", ttlSeconds: 60 })(next);
    for (let i = 0; i < 200; i++) {
      await infer(request([input(Array.from({ length: 32 }, (_, j) => i * 1000 + j))]));
      expect(cache.bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect(rec.bytes.length).toBeGreaterThan(0);
    expect(Math.max(...rec.bytes)).toBeLessThanOrEqual(maxBytes);
    // Full, not empty: the bound is used, and the newest answer is still there.
    expect(cache.bytes).toBeGreaterThan(maxBytes / 2);
    expect(
      (await infer(request([input(Array.from({ length: 32 }, (_, j) => 199_000 + j))]))).cache,
    ).toBe("hit");
    expect((await infer(request([input(Array.from({ length: 32 }, (_, j) => j))]))).cache).toBe(
      "miss",
    );
    expect(state.calls).toBe(201);
  });

  it("does not store an answer larger than the whole bound", async () => {
    const cache = new ResponseCache({ maxBytes: 100 });
    const { state, next } = doubler();
    const infer = cache.policy({ namespace: "n", ttlSeconds: 60 })(next);
    const big = input(Array.from({ length: 64 }, (_, j) => j));
    expect((await infer(request([big]))).cache).toBe("miss");
    expect((await infer(request([big]))).cache).toBe("miss");
    expect(state.calls).toBe(2);
    expect(cache.bytes).toBe(0);
  });

  it("rejects a bad bound or TTL", () => {
    expect(() => new ResponseCache({ maxBytes: 0 })).toThrow(RangeError);
    const cache = new ResponseCache({ maxBytes: 10 });
    expect(() => cache.policy({ namespace: "n", ttlSeconds: 0 })).toThrow(RangeError);
    expect(() => cache.policy({ namespace: "n", ttlSeconds: Number.NaN })).toThrow(RangeError);
  });
});

describe("ResponseCache single flight", () => {
  it("makes one backend call for 100 concurrent identical misses, and all get the answer", async () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    const gate = deferred<BackendResult>();
    let calls = 0;
    const slow: InferFn = () => {
      calls++;
      return gate.promise;
    };
    const infer = cache.policy({ namespace: "n", ttlSeconds: 60 })(slow);
    const pending = Array.from({ length: 100 }, () => infer(request([input([5])])));
    // A different request is not folded in.
    const other = infer(request([input([6])]));
    expect(cache.inFlight).toBe(2);
    gate.resolve({
      outputs: [{ name: "y", datatype: "INT32", shape: [1], data: Int32Array.of(42) }],
    });
    const results = await Promise.all([...pending, other]);
    expect(calls).toBe(2);
    for (const result of results) {
      expect(result.cache).toBe("miss");
      expect(result.outputs[0]?.data).toEqual(Int32Array.of(42));
    }
    expect(cache.inFlight).toBe(0);
    expect((await infer(request([input([5])]))).cache).toBe("hit");
    expect(calls).toBe(2);
  });

  it("shares an error with every waiter and does not cache it", async () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    const gate = deferred<BackendResult>();
    let calls = 0;
    const next: InferFn = () => {
      calls++;
      return calls === 1
        ? gate.promise
        : Promise.resolve({
            outputs: [{ name: "y", datatype: "BOOL", shape: [1], data: Uint8Array.of(1) }],
          });
    };
    const infer = cache.policy({ namespace: "n", ttlSeconds: 60 })(next);
    const pending = Array.from({ length: 100 }, () => infer(request([input([5])])));
    const error = new BackendError("backend down");
    gate.reject(error);
    const settled = await Promise.allSettled(pending);
    expect(settled.every((s) => s.status === "rejected" && s.reason === error)).toBe(true);
    expect(calls).toBe(1);
    expect(cache.inFlight).toBe(0);
    expect((await infer(request([input([5])]))).cache).toBe("miss");
    expect(calls).toBe(2);
  });

  it("lets a cancelled waiter go without failing the others", async () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    const gate = deferred<BackendResult>();
    let seen: AbortSignal | undefined;
    const next: InferFn = ({ call }) => {
      seen = call.signal;
      return gate.promise;
    };
    const infer = cache.policy({ namespace: "n", ttlSeconds: 60 })(next);
    const owner = new AbortController();
    const first = infer(request([input([5])], { signal: owner.signal }));
    const second = infer(request([input([5])]));
    owner.abort(new BackendTimeoutError("deadline"));
    await expect(first).rejects.toBeInstanceOf(BackendTimeoutError);
    expect(seen?.aborted).toBe(false);
    gate.resolve({ outputs: [] });
    await expect(second).resolves.toMatchObject({ cache: "miss", outputs: [] });
  });

  it("a no-cache request does not join a computation in flight", async () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    const gate = deferred<BackendResult>();
    let calls = 0;
    const next: InferFn = () => {
      calls++;
      return calls === 1 ? gate.promise : Promise.resolve({ outputs: [] });
    };
    const infer = cache.policy({ namespace: "n", ttlSeconds: 60 })(next);
    const cached = infer(request([input([5])]));
    await expect(infer(request([input([5])], { noCache: true }))).resolves.toMatchObject({
      cache: "miss",
    });
    expect(calls).toBe(2);
    gate.resolve({ outputs: [] });
    await cached;
  });
});
