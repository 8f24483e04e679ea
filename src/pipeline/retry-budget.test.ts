import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BackendResult } from "../backends/types.js";
import { BackendUnavailableError } from "../errors.js";
import { retry } from "./retry.js";
import { RetryBudget } from "./retry-budget.js";

/** A budget on a hand-driven clock. */
function budgetAt(budgetPercent: number, minRetriesPerSecond: number, windowMs?: number) {
  const clock = { t: 0 };
  const budget = new RetryBudget(
    { budgetPercent, minRetriesPerSecond },
    { now: () => clock.t, ...(windowMs === undefined ? {} : { windowMs }) },
  );
  return { clock, budget };
}

/** Withdraws until refused (bounded) and returns how many were granted. */
function drain(budget: RetryBudget, limit = 100_000): number {
  let granted = 0;
  while (granted < limit && budget.tryWithdraw()) granted++;
  return granted;
}

describe("RetryBudget", () => {
  it("refuses every retry with no deposits and no floor", () => {
    const { budget } = budgetAt(20, 0);
    expect(budget.tryWithdraw()).toBe(false);
  });

  it("grants budgetPercent of the deposits: 1000 requests at 20% pay for 200 retries", () => {
    const { budget } = budgetAt(20, 0);
    for (let i = 0; i < 1000; i++) budget.deposit();
    expect(drain(budget)).toBe(200);
  });

  it("grants at most 200 retries when 1000 failing requests each ask for 3", () => {
    const { clock, budget } = budgetAt(20, 0);
    let granted = 0;
    for (let i = 0; i < 1000; i++) {
      clock.t = i * 5; // 200 requests/s for 5 s, all inside the window
      budget.deposit();
      for (let r = 0; r < 3; r++) if (budget.tryWithdraw()) granted++;
    }
    expect(granted).toBe(200);
  });

  it("counts whole retries exactly where floating point would round down (29%)", () => {
    const { budget } = budgetAt(29, 0);
    for (let i = 0; i < 100; i++) budget.deposit();
    expect(drain(budget)).toBe(29);
  });

  it("adds the floor every second on top of the percentage, without bursting", () => {
    const { clock, budget } = budgetAt(20, 3);
    let granted = 0;
    for (let i = 0; i < 1000; i++) {
      clock.t = i * 10; // 100 requests/s for 10 s
      budget.deposit();
      for (let r = 0; r < 3; r++) if (budget.tryWithdraw()) granted++;
    }
    expect(granted).toBe(200 + 3 * 10);
  });

  it("allows the floor alone to a quiet target: minRetriesPerSecond each second", () => {
    const { clock, budget } = budgetAt(20, 5);
    expect(drain(budget)).toBe(5);
    clock.t = 999;
    expect(budget.tryWithdraw()).toBe(false);
    clock.t = 1000;
    expect(drain(budget)).toBe(5);
    // Unused floor does not pile up across idle seconds.
    clock.t = 60_000;
    expect(drain(budget)).toBe(5);
  });

  it("spreads a fractional floor: 0.5 per second is 5 retries in 10 s", () => {
    const { clock, budget } = budgetAt(0, 0.5);
    let granted = 0;
    for (let t = 0; t < 10_000; t += 100) {
      clock.t = t;
      granted += drain(budget);
    }
    expect(granted).toBe(5);
  });

  it("forgets deposits after the window, so the budget tracks recent traffic", () => {
    const { clock, budget } = budgetAt(10, 0);
    for (let i = 0; i < 100; i++) budget.deposit();
    clock.t = 9_999;
    expect(budget.tryWithdraw()).toBe(true);
    clock.t = 10_000;
    expect(budget.tryWithdraw()).toBe(false);
  });

  it("lets a withdrawal's debt expire with the window too", () => {
    const { clock, budget } = budgetAt(10, 0);
    for (let i = 0; i < 100; i++) budget.deposit();
    expect(drain(budget)).toBe(10);
    clock.t = 5_000;
    for (let i = 0; i < 100; i++) budget.deposit();
    // Still inside the window of t=0: 200 deposits pay for 20, 10 of them spent.
    expect(drain(budget)).toBe(10);
    clock.t = 10_000;
    // t=0's deposits and withdrawals are gone; t=5000's 100 deposits are fully spent.
    expect(budget.tryWithdraw()).toBe(false);
    clock.t = 15_000;
    for (let i = 0; i < 100; i++) budget.deposit();
    expect(drain(budget)).toBe(10);
  });

  it("honours a custom window", () => {
    const { clock, budget } = budgetAt(50, 0, 1_000);
    budget.deposit();
    budget.deposit();
    expect(drain(budget)).toBe(1);
    clock.t = 999;
    expect(budget.tryWithdraw()).toBe(false);
    budget.deposit();
    budget.deposit();
    clock.t = 1_000;
    // t=0's deposits and withdrawal expired; the two deposits at t=999 pay for one.
    expect(drain(budget)).toBe(1);
  });

  it("keeps working over a long run with bounded state", () => {
    const { clock, budget } = budgetAt(20, 0);
    let granted = 0;
    for (let i = 0; i < 100_000; i++) {
      clock.t = i * 10; // 100 requests/s for 1000 s
      budget.deposit();
      if (budget.tryWithdraw()) granted++;
    }
    // One retry per five requests, give or take the window's edge.
    expect(granted).toBeGreaterThanOrEqual(19_990);
    expect(granted).toBeLessThanOrEqual(20_010);
  });

  it("rejects nonsense settings", () => {
    expect(() => new RetryBudget({ budgetPercent: -1, minRetriesPerSecond: 0 })).toThrow(
      RangeError,
    );
    expect(() => new RetryBudget({ budgetPercent: 20, minRetriesPerSecond: Number.NaN })).toThrow(
      RangeError,
    );
    expect(
      () => new RetryBudget({ budgetPercent: 20, minRetriesPerSecond: 0 }, { windowMs: 0 }),
    ).toThrow(RangeError);
  });
});

/** mulberry32: a small seeded PRNG, so the simulation's failures are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Clients send `rate` requests/s for 10 s through the retry policy to a backend failing half its
 * calls with BACKEND_UNAVAILABLE; returns how many calls reached the backend.
 */
async function simulate(
  rate: number,
  budgetPercent: number,
  minRetriesPerSecond: number,
  seed: number,
): Promise<number> {
  const clock = { t: 0 };
  const fails = seeded(seed);
  const budget = new RetryBudget({ budgetPercent, minRetriesPerSecond }, { now: () => clock.t });
  const policy = retry({
    config: { attempts: 3, backoffMs: 25, budgetPercent, minRetriesPerSecond },
    budget,
    random: seeded(seed + 1),
    now: () => clock.t,
    sleep: async () => {},
  });
  const target = { backend: "b", model: "m" };
  const signal = new AbortController().signal;
  const answer: BackendResult = { outputs: [] };
  let calls = 0;
  const fn = policy(async () => {
    calls++;
    if (fails() < 0.5) throw new BackendUnavailableError("connection refused");
    return answer;
  });
  const requests = rate * 10;
  for (let i = 0; i < requests; i++) {
    clock.t = (i * 1000) / rate;
    await fn({ target, call: { inputs: [], deadline: clock.t + 1000, signal } }).catch(
      () => undefined,
    );
  }
  return calls;
}

describe("retry budget under a half-failing backend (at most the budget's share of extra load)", () => {
  it("keeps the backend call rate within (1 + budgetPercent/100) × R + floor", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer(),
        async (rate, budgetPercent, floor, seed) => {
          const calls = await simulate(rate, budgetPercent, floor, seed);
          const seconds = 10;
          expect(calls / seconds).toBeLessThanOrEqual((1 + budgetPercent / 100) * rate + floor);
          expect(calls).toBeGreaterThanOrEqual(rate * seconds);
        },
      ),
      { numRuns: 40, seed: 20_240_404 },
    );
  });

  it("is the budget that holds the rate: 3 retries unbudgeted would send ~1.875 × R", async () => {
    const rate = 200;
    const budgeted = await simulate(rate, 20, 10, 7);
    const unbudgeted = await simulate(rate, 100, 1000, 7);
    expect(budgeted / 10).toBeLessThanOrEqual(1.2 * rate + 10);
    // The budget is used, not idle: percentage and floor are both spent.
    expect(budgeted / 10).toBeGreaterThan(1.2 * rate + 10 - 1);
    expect(unbudgeted / 10).toBeGreaterThan(1.8 * rate);
  });
});
