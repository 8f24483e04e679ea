import { describe, expect, it } from "vitest";
import { LoadThrottle } from "./throttle.js";

describe("LoadThrottle", () => {
  it("halves its permits on a lagging loop while live traffic flows, and adds one back when prompt", () => {
    const throttle = new LoadThrottle({ max: 8, targetLagMs: 5, liveActive: () => true });
    expect(throttle.allowed).toBe(8);
    throttle.observe(20);
    expect(throttle.allowed).toBe(4);
    throttle.observe(20);
    throttle.observe(20);
    throttle.observe(20);
    expect(throttle.allowed).toBe(1);
    throttle.observe(1);
    throttle.observe(1);
    expect(throttle.allowed).toBe(3);
    throttle.observe(4);
    expect(throttle.allowed).toBe(3);
  });

  it("stands aside without live traffic", () => {
    let live = true;
    const throttle = new LoadThrottle({ max: 8, targetLagMs: 5, liveActive: () => live });
    throttle.observe(50);
    expect(throttle.allowed).toBe(4);
    live = false;
    throttle.observe(50);
    expect(throttle.allowed).toBe(8);
  });

  it("reports each new allowance, and only changes", () => {
    const seen: number[] = [];
    const throttle = new LoadThrottle({
      max: 4,
      targetLagMs: 5,
      liveActive: () => true,
      onChange: (n) => seen.push(n),
    });
    throttle.observe(1);
    throttle.observe(50);
    throttle.observe(50);
    throttle.observe(50);
    throttle.observe(0);
    expect(seen).toEqual([2, 1, 2]);
  });
});
