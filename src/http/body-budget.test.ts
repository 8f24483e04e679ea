import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OverloadedError } from "../errors.js";
import { BodyBudget, UNCOUNTED_BODY_BYTES as FREE } from "./body-budget.js";
import { openFileLimit } from "./fd-limit.js";

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
