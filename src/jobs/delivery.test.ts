import { describe, expect, it } from "vitest";
import { nextStep, retryDelayMs } from "./delivery.js";

const policy = { maxAttempts: 8, retryBaseMs: 5000, concurrency: 1, leaseMs: 20_000 };

describe("webhook retry schedule", () => {
  it("waits base × 4^(n−1) with ±20% jitter, capped at one hour", () => {
    expect(retryDelayMs(1, 5000, () => 0.5)).toBe(5000);
    expect(retryDelayMs(2, 5000, () => 0.5)).toBe(20_000);
    expect(retryDelayMs(3, 5000, () => 0.5)).toBe(80_000);
    expect(retryDelayMs(1, 5000, () => 0)).toBe(4000);
    expect(retryDelayMs(1, 5000, () => 1)).toBe(6000);
    expect(retryDelayMs(7, 5000, () => 1)).toBe(3_600_000);
  });

  it("retries until maxAttempts deliveries, and stops at once on 2xx, 410 or a refused host", () => {
    const first = nextStep("retry", 1, policy);
    expect(first.done).toBe(false);
    // The first retry waits the base, ±20% jitter.
    const delayMs = first.done ? Number.NaN : first.delayMs;
    expect(delayMs).toBeGreaterThanOrEqual(4000);
    expect(delayMs).toBeLessThanOrEqual(6000);
    expect(nextStep("retry", 8, policy)).toEqual({ done: true, outcome: "failed" });
    expect(nextStep("delivered", 1, policy)).toEqual({ done: true, outcome: "delivered" });
    expect(nextStep("gone", 1, policy)).toEqual({ done: true, outcome: "gone" });
    expect(nextStep("refused", 1, policy)).toEqual({ done: true, outcome: "refused" });
  });
});
