import { describe, expect, it, vi } from "vitest";
import type { BackendResult } from "../backends/types.js";
import type { RetryConfig } from "../config/schema.js";
import {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  InternalError,
  InvalidRequestError,
  OverloadedError,
} from "../errors.js";
import { TargetBreaker } from "./breaker.js";
import {
  abortableSleep,
  isRetryable,
  MIN_ATTEMPT_MS,
  type RetryOptions,
  type RetryResult,
  retry,
} from "./retry.js";
import { RetryBudget } from "./retry-budget.js";
import type { InferFn, TargetCall } from "./types.js";

const NOW = 1_000_000;
const answer: BackendResult = { outputs: [] };
const config: RetryConfig = {
  attempts: 2,
  backoffMs: 25,
  budgetPercent: 20,
  minRetriesPerSecond: 0,
};

function request(deadline = NOW + 10_000, signal = new AbortController().signal): TargetCall {
  return { target: { backend: "b", model: "m" }, call: { inputs: [], deadline, signal } };
}

/** A budget that never refuses. */
function generous(): RetryBudget {
  return new RetryBudget({ budgetPercent: 0, minRetriesPerSecond: 1000 }, { now: () => 0 });
}

/** A backend that fails with each of `errors` in turn, then answers; it records its calls. */
function backend(...errors: unknown[]): InferFn & { calls: number } {
  const fn = async () => {
    const err = errors[fn.calls++];
    if (err !== undefined) throw err;
    return answer;
  };
  fn.calls = 0;
  return fn;
}

/** The retry policy with a fixed clock, recorded sleeps and decisions. */
function harness(overrides: Partial<RetryOptions> = {}) {
  const sleeps: number[] = [];
  const results: RetryResult[] = [];
  const policy = retry({
    config,
    budget: generous(),
    random: () => 0.5,
    now: () => NOW,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onRetry: (r) => results.push(r),
    ...overrides,
  });
  return { policy, sleeps, results };
}

const unavailable = () => new BackendUnavailableError("connection refused");

describe("isRetryable", () => {
  it("is true for BACKEND_UNAVAILABLE only", () => {
    expect(isRetryable(unavailable())).toBe(true);
    for (const err of [
      new OverloadedError("queue full"),
      new BackendTimeoutError("late"),
      new BackendError("500"),
      new InvalidRequestError("bad shape"),
      new InternalError(),
      new Error("ECONNREFUSED"),
      "BACKEND_UNAVAILABLE",
      undefined,
    ]) {
      expect(isRetryable(err)).toBe(false);
    }
  });
});

describe("retry policy", () => {
  it("retries BACKEND_UNAVAILABLE and returns the answer", async () => {
    const { policy, results } = harness();
    const fn = backend(unavailable());
    await expect(policy(fn)(request())).resolves.toBe(answer);
    expect(fn.calls).toBe(2);
    expect(results).toEqual(["sent"]);
  });

  it("rethrows non-retryable errors at once", async () => {
    for (const err of [
      new OverloadedError("shed"),
      new BackendTimeoutError("late"),
      new BackendError("500"),
      new InvalidRequestError("bad"),
    ]) {
      const { policy, results } = harness();
      const fn = backend(err);
      await expect(policy(fn)(request())).rejects.toBe(err);
      expect(fn.calls).toBe(1);
      expect(results).toEqual([]);
    }
  });

  it("does not retry a breaker rejection (a real breaker, opened by the first failure)", async () => {
    const breaker = new TargetBreaker({
      name: "b/m",
      config: {
        errorThresholdPercentage: 50,
        volumeThreshold: 1,
        rollingWindowMs: 10_000,
        resetTimeoutMs: 60_000,
      },
    });
    try {
      const { policy, results } = harness();
      const fn = backend(unavailable(), unavailable());
      const rejection = await policy(breaker.policy(fn))(request()).catch((e: unknown) => e);
      expect(breaker.state).toBe("open");
      expect(fn.calls).toBe(1);
      // The retry went out, met the open breaker, and that rejection ended the request.
      expect(results).toEqual(["sent"]);
      expect(rejection).toBeInstanceOf(BackendUnavailableError);
      expect(isRetryable(rejection)).toBe(false);
    } finally {
      breaker.close();
    }
  });

  it("stops after a non-retryable error on a retry", async () => {
    const { policy } = harness();
    const late = new BackendTimeoutError("late");
    const fn = backend(unavailable(), late, unavailable());
    await expect(policy(fn)(request())).rejects.toBe(late);
    expect(fn.calls).toBe(2);
  });

  it("makes at most 1 + attempts calls and throws the last error", async () => {
    const errors = [unavailable(), unavailable(), unavailable(), unavailable()];
    const { policy, results } = harness();
    const fn = backend(...errors);
    await expect(policy(fn)(request())).rejects.toBe(errors[2]);
    expect(fn.calls).toBe(3);
    expect(results).toEqual(["sent", "sent"]);
  });

  it("makes one call when attempts is 0", async () => {
    const { policy } = harness({ config: { ...config, attempts: 0 } });
    const fn = backend(unavailable(), unavailable());
    await expect(policy(fn)(request())).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(fn.calls).toBe(1);
  });

  it("draws full-jitter backoff: 0 with random() = 0", async () => {
    const { policy, sleeps } = harness({ random: () => 0, config: { ...config, attempts: 5 } });
    await expect(
      policy(backend(...Array.from({ length: 6 }, unavailable)))(request()),
    ).rejects.toBeInstanceOf(BackendUnavailableError);
    // A zero backoff does not sleep at all.
    expect(sleeps).toEqual([]);
  });

  it("draws full-jitter backoff: up to min(10 × base, base × 2^(n-1)) with random() ≈ 1", async () => {
    const almostOne = 1 - 2 ** -53;
    const { policy, sleeps } = harness({
      random: () => almostOne,
      config: { ...config, attempts: 7 },
    });
    const fn = backend(...Array.from({ length: 8 }, unavailable));
    await expect(policy(fn)(request())).rejects.toBeInstanceOf(BackendUnavailableError);
    const ceilings = [25, 50, 100, 200, 250, 250, 250];
    expect(sleeps).toHaveLength(ceilings.length);
    sleeps.forEach((ms, i) => {
      expect(ms).toBeLessThan(ceilings[i]!);
      expect(ms).toBeCloseTo(ceilings[i]!, 9);
    });
  });

  it("scales the backoff by random()", async () => {
    const { policy, sleeps } = harness({ random: () => 0.25 });
    await expect(policy(backend(unavailable(), unavailable()))(request())).resolves.toBe(answer);
    expect(sleeps).toEqual([6.25, 12.5]);
  });

  it("does not retry when the deadline leaves no room after the backoff", async () => {
    const budget = new RetryBudget({ budgetPercent: 0, minRetriesPerSecond: 1 }, { now: () => 0 });
    // random 0.5 on a 25 ms base: 12.5 ms of backoff, then MIN_ATTEMPT_MS must remain.
    const { policy, results } = harness({ budget });
    const fn = backend(unavailable());
    const tooTight = NOW + 12.5 + MIN_ATTEMPT_MS - 0.001;
    await expect(policy(fn)(request(tooTight))).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(fn.calls).toBe(1);
    expect(results).toEqual(["deadline"]);
    // The skipped retry spent nothing from the budget.
    expect(budget.tryWithdraw()).toBe(true);
  });

  it("retries when the deadline leaves exactly the minimum after the backoff", async () => {
    const { policy, results } = harness();
    const fn = backend(unavailable());
    const justEnough = NOW + 12.5 + MIN_ATTEMPT_MS;
    await expect(policy(fn)(request(justEnough))).resolves.toBe(answer);
    expect(results).toEqual(["sent"]);
  });

  it("does not retry when the budget refuses", async () => {
    const budget = new RetryBudget({ budgetPercent: 0, minRetriesPerSecond: 0 }, { now: () => 0 });
    const { policy, results } = harness({ budget });
    const err = unavailable();
    const fn = backend(err);
    await expect(policy(fn)(request())).rejects.toBe(err);
    expect(fn.calls).toBe(1);
    expect(results).toEqual(["budget"]);
  });

  it("deposits once per request, not per retry", async () => {
    // 100% and no floor: the request's own deposit pays for exactly one retry.
    const budget = new RetryBudget(
      { budgetPercent: 100, minRetriesPerSecond: 0 },
      { now: () => 0 },
    );
    const { policy, results } = harness({ budget, config: { ...config, attempts: 3 } });
    const fn = backend(unavailable(), unavailable(), unavailable());
    await expect(policy(fn)(request())).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(fn.calls).toBe(2);
    expect(results).toEqual(["sent", "budget"]);
  });

  it("stops when the request aborts during the backoff, with the last error for a client abort", async () => {
    const controller = new AbortController();
    const err = unavailable();
    const { policy, results } = harness({
      sleep: async () => controller.abort(),
    });
    const fn = backend(err);
    await expect(policy(fn)(request(NOW + 10_000, controller.signal))).rejects.toBe(err);
    expect(fn.calls).toBe(1);
    expect(results).toEqual(["deadline"]);
  });

  it("throws the abort reason when it is a gateway error", async () => {
    const controller = new AbortController();
    const timeout = new BackendTimeoutError("deadline passed");
    const { policy } = harness({ sleep: async () => controller.abort(timeout) });
    const fn = backend(unavailable());
    await expect(policy(fn)(request(NOW + 10_000, controller.signal))).rejects.toBe(timeout);
    expect(fn.calls).toBe(1);
  });

  it("does not retry a request already aborted when its call fails", async () => {
    const controller = new AbortController();
    const { policy, results, sleeps } = harness();
    const err = unavailable();
    const fn: InferFn = async () => {
      controller.abort();
      throw err;
    };
    await expect(policy(fn)(request(NOW + 10_000, controller.signal))).rejects.toBe(err);
    expect(results).toEqual(["deadline"]);
    expect(sleeps).toEqual([]);
  });
});

describe("abortableSleep", () => {
  it("waits the time, or returns as soon as the signal aborts", async () => {
    vi.useFakeTimers();
    try {
      let done = false;
      const waiting = abortableSleep(100, new AbortController().signal).then(() => {
        done = true;
      });
      await vi.advanceTimersByTimeAsync(99);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await waiting;
      expect(done).toBe(true);

      const controller = new AbortController();
      let early = false;
      const aborted = abortableSleep(10_000, controller.signal).then(() => {
        early = true;
      });
      await vi.advanceTimersByTimeAsync(1);
      expect(early).toBe(false);
      controller.abort();
      await aborted;
      expect(early).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
