import { describe, expect, it } from "vitest";
import { RateLimitedError } from "../errors.js";
import { LimitFamily, rateLimitHeaders } from "./rate-limit.js";

const takeAll = async (
  family: LimitFamily,
  n: number,
  config: { requestsPerSecond: number; burst?: number },
) => {
  let ok = 0;
  let refused: RateLimitedError | undefined;
  for (let i = 0; i < n; i++) {
    try {
      await family.take("id", config, "test");
      ok += 1;
    } catch (err) {
      if (!(err instanceof RateLimitedError)) throw err;
      refused = err;
    }
  }
  return { ok, refused };
};

describe("LimitFamily (in memory)", () => {
  it("lets requestsPerSecond through, then refuses with the limit's state", async () => {
    const { ok, refused } = await takeAll(
      new LimitFamily("t", { keyPrefix: "p:", redis: () => undefined }),
      5,
      {
        requestsPerSecond: 3,
      },
    );
    expect(ok).toBe(3);
    expect(refused?.code).toBe("RATE_LIMITED");
    expect(refused?.rateLimit).toEqual({ limit: 3, remaining: 0, resetSeconds: 1 });
    expect(refused?.retryAfterSeconds).toBe(1);
  });

  it("adds the burst above the rate on top, and reports the burst as the limit", async () => {
    const { ok, refused } = await takeAll(
      new LimitFamily("t", { keyPrefix: "p:", redis: () => undefined }),
      10,
      {
        requestsPerSecond: 2,
        burst: 6,
      },
    );
    expect(ok).toBe(6);
    expect(refused?.rateLimit.limit).toBe(6);
  });

  it("reads a fixed-window family's exhaustion without spending it", async () => {
    const family = new LimitFamily(
      "f",
      { keyPrefix: "p:", redis: () => undefined },
      { fixedWindow: true },
    );
    const config = { requestsPerSecond: 1, burst: 2 };
    expect(await family.exhausted("id", config)).toBeUndefined();
    await takeAll(family, 2, config);
    const state = await family.exhausted("id", config);
    expect(state?.remaining).toBe(0);
    expect(state?.resetSeconds).toBeGreaterThanOrEqual(1);
  });

  it("names the headers in lower case with integer values", () => {
    expect(rateLimitHeaders({ limit: 10, remaining: 3, resetSeconds: 2 })).toEqual([
      ["ratelimit-limit", "10"],
      ["ratelimit-remaining", "3"],
      ["ratelimit-reset", "2"],
    ]);
  });
});
