import { describe, expect, it } from "vitest";
import {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  InternalError,
  InvalidRequestError,
  ModelNotFoundError,
  OverloadedError,
} from "../../errors.js";
import type { BackendCall } from "../types.js";
import { ejectionMs, mayEject, outcomeOf } from "./outlier.js";

const config = {
  consecutiveFailures: 5,
  baseEjectionTimeMs: 1000,
  maxEjectionTimeMs: 3500,
  maxEjectionPercent: 50,
};

function call(deadline: number, aborted = false): BackendCall {
  const controller = new AbortController();
  if (aborted) controller.abort();
  return { inputs: [], deadline, signal: controller.signal };
}

describe("outcomeOf", () => {
  const live = call(10_000);

  it("counts server-side errors (and unknown throwables) as failures", () => {
    expect(outcomeOf(new BackendUnavailableError("x"), live, 0)).toBe("failure");
    expect(outcomeOf(new BackendTimeoutError("x"), live, 0)).toBe("failure");
    expect(outcomeOf(new BackendError("x"), live, 0)).toBe("failure");
    expect(outcomeOf(new InternalError(), live, 0)).toBe("failure");
    expect(outcomeOf(new TypeError("bug"), live, 0)).toBe("failure");
  });

  it("treats client errors as answers and OVERLOADED as neither", () => {
    expect(outcomeOf(new InvalidRequestError("x"), live, 0)).toBe("success");
    expect(outcomeOf(new ModelNotFoundError("m"), live, 0)).toBe("success");
    expect(outcomeOf(new OverloadedError("x"), live, 0)).toBe("neutral");
  });

  it("ignores a call the caller abandoned before its deadline, but not one that ran out of time", () => {
    expect(outcomeOf(new BackendTimeoutError("x"), call(10_000, true), 5_000)).toBe("neutral");
    expect(outcomeOf(new BackendTimeoutError("x"), call(10_000, true), 10_000)).toBe("failure");
  });
});

describe("ejectionMs", () => {
  it("is base × n, capped at the maximum", () => {
    expect([1, 2, 3, 4, 10].map((n) => ejectionMs(config, n))).toEqual([
      1000, 2000, 3000, 3500, 3500,
    ]);
  });

  it("never falls below the base when the maximum is set lower (Envoy)", () => {
    expect(ejectionMs({ ...config, maxEjectionTimeMs: 500 }, 3)).toBe(1000);
  });
});

describe("mayEject", () => {
  it("keeps to maxEjectionPercent", () => {
    expect(mayEject(1, 4, 50)).toBe(true); // 2 of 4 = 50%
    expect(mayEject(2, 4, 50)).toBe(false); // 3 of 4 = 75%
    expect(mayEject(2, 3, 100)).toBe(true);
    expect(mayEject(3, 3, 100)).toBe(false);
  });

  it("always allows the first ejection among two or more replicas, never for a lone one", () => {
    expect(mayEject(0, 2, 0)).toBe(true);
    expect(mayEject(0, 10, 5)).toBe(true);
    expect(mayEject(1, 10, 5)).toBe(false);
    expect(mayEject(0, 1, 50)).toBe(false);
    expect(mayEject(0, 1, 100)).toBe(true);
  });
});
