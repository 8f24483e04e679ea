import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BackendResult } from "../backends/types.js";
import type { BreakerConfig } from "../config/schema.js";
import {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  GatewayError,
  InvalidRequestError,
  OverloadedError,
} from "../errors.js";
import { type BreakerState, isBreakerOpen, TargetBreaker } from "./breaker.js";
import type { InferFn, TargetCall } from "./types.js";

const START = Date.parse("2030-01-01T00:00:00.000Z");
const FAR = START + 10 * 365 * 24 * 3600 * 1000; // a deadline no test reaches
const RESULT: BackendResult = { outputs: [] };
const CONFIG: BreakerConfig = {
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  rollingWindowMs: 10_000,
  resetTimeoutMs: 5_000,
};

function request(signal = new AbortController().signal): TargetCall {
  return { target: { backend: "b", model: "m" }, call: { inputs: [], deadline: FAR, signal } };
}

type Behaviour = "ok" | "fail" | "client" | "overloaded" | "hang";

/** A fake next InferFn: each call does what `mode` says; "hang" calls wait for `settle`. */
function fakeBackend() {
  const hung: Array<{ resolve: (r: BackendResult) => void; reject: (e: unknown) => void }> = [];
  const state = { calls: 0, mode: "ok" as Behaviour };
  const next: InferFn = () => {
    state.calls++;
    switch (state.mode) {
      case "ok":
        return Promise.resolve(RESULT);
      case "fail":
        return Promise.reject(new BackendError("backend said 500"));
      case "client":
        return Promise.reject(new InvalidRequestError("bad input"));
      case "overloaded":
        return Promise.reject(new OverloadedError("busy"));
      case "hang":
        return new Promise<BackendResult>((resolve, reject) => hung.push({ resolve, reject }));
    }
  };
  return { state, next, hung };
}

let breaker: TargetBreaker;
let changes: BreakerState[];
let backend: ReturnType<typeof fakeBackend>;
let infer: InferFn;

function setup(config: Partial<BreakerConfig> = {}) {
  changes = [];
  breaker = new TargetBreaker({
    name: "m/1 -> b",
    config: { ...CONFIG, ...config },
    onStateChange: (s) => changes.push(s),
  });
  backend = fakeBackend();
  infer = breaker.policy(backend.next);
}

/** Runs `n` calls one after another with the backend in `mode`; returns what each caller got. */
async function run(n: number, mode: Behaviour): Promise<unknown[]> {
  backend.state.mode = mode;
  const got: unknown[] = [];
  for (let i = 0; i < n; i++) got.push(await infer(request()).catch((e: unknown) => e));
  return got;
}

async function openIt() {
  await run(CONFIG.volumeThreshold, "fail");
  expect(breaker.state).toBe("open");
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
});

afterEach(() => {
  breaker.close();
  vi.useRealTimers();
});

describe("TargetBreaker opening", () => {
  it("opens after exactly volumeThreshold failures at 100% and not before", async () => {
    setup();
    const first = await run(4, "fail");
    expect(breaker.state).toBe("closed");
    expect(first.every((e) => e instanceof BackendError)).toBe(true);
    const [fifth] = await run(1, "fail");
    // The call that trips the breaker still reports its own error.
    expect(fifth).toBeInstanceOf(BackendError);
    expect(isBreakerOpen(fifth)).toBe(false);
    expect(breaker.state).toBe("open");
    expect(backend.state.calls).toBe(5);
    expect(changes).toEqual(["open"]);
  });

  it("stays closed at the threshold percentage and opens just above it", async () => {
    setup({ volumeThreshold: 10 });
    await run(5, "ok");
    await run(5, "fail");
    expect(breaker.state).toBe("closed"); // 50% is not above 50%
    await run(1, "fail");
    expect(breaker.state).toBe("open"); // 6 of 11
  });

  it("stays closed under volumeThreshold even at 100% failures", async () => {
    setup({ volumeThreshold: 20 });
    await run(19, "fail");
    expect(breaker.state).toBe("closed");
    expect(backend.state.calls).toBe(19);
  });

  it("forgets failures that left the rolling window", async () => {
    setup();
    await run(4, "fail");
    await vi.advanceTimersByTimeAsync(CONFIG.rollingWindowMs + 1_000);
    await run(4, "fail");
    expect(breaker.state).toBe("closed");
    await run(1, "fail");
    expect(breaker.state).toBe("open");
  });

  it("never counts client errors or OVERLOADED, either way", async () => {
    setup();
    const client = await run(50, "client");
    await run(50, "overloaded");
    expect(breaker.state).toBe("closed");
    expect(client[0]).toBeInstanceOf(InvalidRequestError);
    expect(breaker.snapshot()).toMatchObject({ successes: 0, failures: 0, rejects: 0 });
    // Had they counted as successes, 5 failures among 105 calls would stay far below 50%.
    await run(5, "fail");
    expect(breaker.state).toBe("open");
  });

  it("counts BACKEND_UNAVAILABLE, BACKEND_TIMEOUT and unknown throwables as failures", async () => {
    setup({ volumeThreshold: 3 });
    const errors = [new BackendUnavailableError("refused"), new BackendTimeoutError("slow"), 42];
    const next: InferFn = () => Promise.reject(errors.shift());
    const wrapped = breaker.policy(next);
    for (let i = 0; i < 3; i++) await wrapped(request()).catch(() => undefined);
    expect(breaker.state).toBe("open");
  });
});

describe("TargetBreaker while open", () => {
  it("never calls the backend and rejects with BACKEND_UNAVAILABLE and Retry-After", async () => {
    setup();
    await openIt();
    const calls = backend.state.calls;
    const [err] = await run(1, "ok");
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(isBreakerOpen(err)).toBe(true);
    expect(err instanceof GatewayError && err.code).toBe("BACKEND_UNAVAILABLE");
    expect(err instanceof GatewayError && err.retryAfterSeconds).toBe(5);
    await vi.advanceTimersByTimeAsync(2_500);
    const [later] = await run(20, "ok");
    expect(later instanceof GatewayError && later.retryAfterSeconds).toBe(3);
    expect(backend.state.calls).toBe(calls);
    expect(breaker.snapshot().rejects).toBe(21);
  });

  it("stays open until resetTimeoutMs has passed", async () => {
    setup();
    await openIt();
    await vi.advanceTimersByTimeAsync(CONFIG.resetTimeoutMs - 1);
    expect(breaker.state).toBe("open");
    await vi.advanceTimersByTimeAsync(1);
    expect(breaker.state).toBe("halfOpen");
  });

  it("isBreakerOpen is false for other errors", () => {
    setup();
    expect(isBreakerOpen(new BackendUnavailableError("connection refused"))).toBe(false);
    expect(isBreakerOpen(new Error("x"))).toBe(false);
    expect(isBreakerOpen(undefined)).toBe(false);
  });
});

describe("TargetBreaker half-open", () => {
  async function halfOpen() {
    await openIt();
    await vi.advanceTimersByTimeAsync(CONFIG.resetTimeoutMs);
    expect(breaker.state).toBe("halfOpen");
  }

  it("lets exactly one probe through among 50 concurrent callers; success closes", async () => {
    setup();
    await halfOpen();
    const before = backend.state.calls;
    backend.state.mode = "hang";
    const settled: unknown[] = [];
    const calls = Array.from({ length: 50 }, () =>
      infer(request()).catch((e: unknown) => {
        settled.push(e);
        return e;
      }),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(backend.state.calls - before).toBe(1);
    expect(settled).toHaveLength(49);
    expect(settled.every(isBreakerOpen)).toBe(true);
    expect(breaker.state).toBe("halfOpen");
    backend.hung[0]?.resolve(RESULT);
    expect(await calls[0]).toBe(RESULT);
    expect(breaker.state).toBe("closed");
    expect(breaker.snapshot().openedAt).toBeUndefined();
    const after = await run(10, "ok");
    expect(after.every((r) => r === RESULT)).toBe(true);
    expect(changes).toEqual(["open", "halfOpen", "closed"]);
  });

  it("re-opens for another resetTimeoutMs when the probe fails", async () => {
    setup();
    await halfOpen();
    backend.state.mode = "hang";
    const probe = infer(request()).catch((e: unknown) => e);
    backend.hung[0]?.reject(new BackendTimeoutError("probe timed out"));
    // The caller sees the probe's own error.
    expect(await probe).toBeInstanceOf(BackendTimeoutError);
    expect(breaker.state).toBe("open");
    const calls = backend.state.calls;
    await vi.advanceTimersByTimeAsync(CONFIG.resetTimeoutMs - 1);
    expect(isBreakerOpen((await run(1, "ok"))[0])).toBe(true);
    expect(backend.state.calls).toBe(calls);
    await vi.advanceTimersByTimeAsync(1);
    expect(breaker.state).toBe("halfOpen");
    expect(await run(1, "ok")).toEqual([RESULT]);
    expect(changes).toEqual(["open", "halfOpen", "open", "halfOpen", "closed"]);
  });

  it("a probe ending in a client error neither closes nor re-opens; the next call probes", async () => {
    setup();
    await halfOpen();
    const [client] = await run(1, "client");
    expect(client).toBeInstanceOf(InvalidRequestError);
    expect(breaker.state).toBe("halfOpen");
    const calls = backend.state.calls;
    await run(1, "ok");
    expect(backend.state.calls).toBe(calls + 1);
    expect(breaker.state).toBe("closed");
  });

  it("a probe hung past its deadline re-opens instead of holding the target", async () => {
    setup();
    await halfOpen();
    backend.state.mode = "hang";
    const controller = new AbortController();
    const probe = infer(request(controller.signal)).catch((e: unknown) => e);
    controller.abort(new BackendTimeoutError("deadline passed"));
    await vi.advanceTimersByTimeAsync(0);
    expect(breaker.state).toBe("open");
    backend.hung[0]?.resolve(RESULT); // too late: the verdict is in
    expect(await probe).toBeInstanceOf(BackendTimeoutError);
    expect(breaker.state).toBe("open");
  });

  it("a probe whose client went away leaves it half-open", async () => {
    setup();
    await halfOpen();
    backend.state.mode = "hang";
    const controller = new AbortController();
    const probe = infer(request(controller.signal)).catch((e: unknown) => e);
    controller.abort(); // a plain AbortError: the client, not the deadline
    await vi.advanceTimersByTimeAsync(0);
    expect(await run(1, "ok")).toEqual([RESULT]);
    backend.hung[0]?.reject(new BackendError("late"));
    expect(await probe).toBeInstanceOf(BackendTimeoutError);
    expect(breaker.state).toBe("closed");
  });
});

describe("TargetBreaker snapshot and close", () => {
  it("reports window counts, state and openedAt", async () => {
    setup({ volumeThreshold: 10 });
    await run(3, "ok");
    await run(2, "fail");
    await run(4, "client");
    expect(breaker.snapshot()).toEqual({ state: "closed", successes: 3, failures: 2, rejects: 0 });
    await vi.advanceTimersByTimeAsync(1_000);
    await run(5, "fail");
    await run(2, "ok");
    expect(breaker.snapshot()).toEqual({
      state: "open",
      successes: 3,
      failures: 7,
      rejects: 2,
      openedAt: "2030-01-01T00:00:01.000Z",
    });
    await vi.advanceTimersByTimeAsync(CONFIG.resetTimeoutMs);
    expect(breaker.snapshot()).toMatchObject({
      state: "halfOpen",
      openedAt: "2030-01-01T00:00:01.000Z",
    });
    await vi.advanceTimersByTimeAsync(CONFIG.rollingWindowMs);
    expect(breaker.snapshot()).toMatchObject({ successes: 0, failures: 0, rejects: 0 });
  });

  it("close() leaves no timers behind, even while open", async () => {
    setup();
    await openIt();
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    breaker.close();
    expect(vi.getTimerCount()).toBe(0);
    // After close calls pass straight through rather than failing.
    expect(await run(1, "ok")).toEqual([RESULT]);
  });
});
