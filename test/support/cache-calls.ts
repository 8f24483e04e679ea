/**
 * Calls and a counting backend for response-cache tests: one INT32 input `x`, a backend
 * answering x + offset in output `name`.
 */
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll } from "vitest";
import type { BackendResult, TargetRef } from "../../src/backends/types.js";
import type { ResponseCache } from "../../src/cache/response-cache.js";
import type { InferFn, TargetCall } from "../../src/pipeline/types.js";
import type { NamedTensor } from "../../src/tensor/index.js";
import { startRedis, type TestRedis } from "./redis.js";

/** The target every call goes to. */
export const CACHE_TARGET: TargetRef = { backend: "b", model: "m" };

/** Input `x` holding `value`. */
export function input(value: number): NamedTensor {
  return { name: "x", datatype: "INT32", shape: [1], data: Int32Array.of(value) };
}

/** A call with input `value` and a minute to run. */
export function request(value: number): TargetCall {
  return {
    target: CACHE_TARGET,
    call: {
      inputs: [input(value)],
      deadline: Date.now() + 60_000,
      signal: new AbortController().signal,
    },
  };
}

/** A backend answering x + `offset` as output `name`, counting its calls. */
export function countingBackend(
  offset: number,
  name = "y",
  modelVersion: string | undefined = "1",
) {
  const state = { calls: 0 };
  const next: InferFn = async ({ call }): Promise<BackendResult> => {
    state.calls++;
    const x = call.inputs[0]?.data;
    if (!(x instanceof Int32Array)) throw new Error("bad test input");
    return {
      outputs: [{ name, datatype: "INT32", shape: [1], data: x.map((v) => v + offset) }],
      ...(modelVersion === undefined ? {} : { modelVersion }),
    };
  };
  return { state, next };
}

/** The first element of the first output. */
export function answerOf(result: BackendResult): number | undefined {
  const data = result.outputs[0]?.data;
  return data instanceof Int32Array ? data[0] : undefined;
}

/**
 * Registers a suite's Redis: a fresh redis-server and a raw client before all tests, the caches
 * handed to `track` closed after each, both stopped after all.
 */
export function redisSuite() {
  const state: { redis?: TestRedis; raw?: Redis } = {};
  const caches: ResponseCache[] = [];
  beforeAll(async () => {
    state.redis = await startRedis();
    state.raw = new Redis(state.redis.url, { lazyConnect: true });
    await state.raw.connect();
  });
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    state.raw?.disconnect();
    await state.redis?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("redisSuite used outside its tests");
    return value;
  };
  return {
    redis: () => started(state.redis),
    raw: () => started(state.raw),
    track: (cache: ResponseCache) => caches.push(cache),
  };
}
