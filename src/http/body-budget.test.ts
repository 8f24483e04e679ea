import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { OverloadedError } from "../errors.js";
import {
  BodyBudget,
  UNCOUNTED_BODY_BYTES as FREE,
  RELIEF_EVERY_MS,
  RELIEF_PEAK_BYTES,
} from "./body-budget.js";
import { openFileLimit } from "./fd-limit.js";
import { fullGc } from "./gc.js";

describe("BodyBudget", () => {
  it("accounts bytes per lease and refuses what would pass the current maximum", () => {
    let max = 100;
    const budget = new BodyBudget(() => max);
    const a = budget.lease();
    const b = budget.lease();
    a.take(FREE + 60);
    b.take(FREE);
    b.take(40);
    expect(budget.held).toBe(100);
    expect(() => a.take(1)).toThrow(OverloadedError);
    expect(budget.held).toBe(100);
    a.release();
    a.release(); // twice gives back nothing more
    expect(budget.held).toBe(40);
    max = 50; // a reload lowers the maximum: held bytes stay, new ones must fit under it
    expect(() => b.take(11)).toThrow("too many request bytes in flight");
    b.take(10);
    b.release();
    expect(budget.held).toBe(0);
  });

  it("never counts the first bytes of a body, so small requests pass a spent budget", () => {
    const budget = new BodyBudget(() => 0);
    const lease = budget.lease();
    lease.take(FREE - 1);
    lease.take(1);
    expect(budget.held).toBe(0);
    expect(() => lease.take(1)).toThrow(OverloadedError);
  });

  it("answers 503 with a Retry-After", () => {
    const lease = new BodyBudget(() => 0).lease();
    try {
      lease.take(FREE + 1);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: "OVERLOADED", status: 503, retryAfterSeconds: 1 });
    }
  });
});

describe("relief collection", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs once a large burst has passed, a second later, at most once per interval", () => {
    vi.useFakeTimers();
    let runs = 0;
    const budget = new BodyBudget(
      () => Number.MAX_SAFE_INTEGER,
      () => {
        runs += 1;
      },
    );
    const burst = () => {
      const leases = Array.from({ length: 4 }, () => budget.lease());
      for (const lease of leases) lease.take(FREE + RELIEF_PEAK_BYTES / 4);
      for (const lease of leases) lease.release();
    };
    burst();
    expect(runs).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(runs).toBe(1);
    burst();
    vi.advanceTimersByTime(1000);
    expect(runs).toBe(1); // too soon after the last one
    vi.advanceTimersByTime(RELIEF_EVERY_MS);
    expect(runs).toBe(2);
  });

  it("does not run for small bodies or while most of a burst is still held", () => {
    vi.useFakeTimers();
    let runs = 0;
    const budget = new BodyBudget(
      () => Number.MAX_SAFE_INTEGER,
      () => {
        runs += 1;
      },
    );
    const small = budget.lease();
    small.take(FREE + 1024);
    small.release();
    const big = [budget.lease(), budget.lease()];
    for (const lease of big) lease.take(FREE + RELIEF_PEAK_BYTES);
    big[0]?.release(); // half of the peak still held
    vi.advanceTimersByTime(5000);
    expect(runs).toBe(0);
  });

  it("can have V8's full collection without a node flag", () => {
    expect(typeof fullGc()).toBe("function");
  });
});

describe("openFileLimit", () => {
  it("reads the soft limit from a /proc limits file, and nothing from a missing one", () => {
    const path = join(mkdtempSync(join(tmpdir(), "infergate-")), "limits");
    writeFileSync(
      path,
      "Limit                     Soft Limit           Hard Limit           Units\n" +
        "Max processes             63455                63455                processes\n" +
        "Max open files            1024                 524288               files\n",
    );
    expect(openFileLimit(path)).toBe(1024);
    expect(openFileLimit(join(path, "missing"))).toBeUndefined();
  });
});
