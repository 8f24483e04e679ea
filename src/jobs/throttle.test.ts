import { describe, expect, it } from "vitest";
import { LoadThrottle } from "./throttle.js";

const never = new AbortController().signal;

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

  it("runs at most `allowed` at once and starts waiters as permits free up", async () => {
    const throttle = new LoadThrottle({ max: 2, targetLagMs: 5, liveActive: () => true });
    throttle.observe(50);
    const order: string[] = [];
    const gates: Array<() => void> = [];
    const task = (name: string) =>
      throttle.run(
        () =>
          new Promise<void>((resolve) => {
            order.push(name);
            gates.push(resolve);
          }),
        never,
      );
    const all = [task("a"), task("b"), task("c")];
    await Promise.resolve();
    expect(order).toEqual(["a"]);
    gates.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
    expect(order).toEqual(["a", "b"]);
    throttle.observe(0);
    await Promise.resolve();
    expect(order).toEqual(["a", "b", "c"]);
    for (const g of gates) g();
    await Promise.all(all);
  });

  it("gives up a waiting place when the job is cancelled", async () => {
    const throttle = new LoadThrottle({ max: 1, liveActive: () => true });
    let release: () => void = () => undefined;
    const first = throttle.run(() => new Promise<void>((r) => (release = r)), never);
    const controller = new AbortController();
    let ran = false;
    const second = throttle.run(async () => {
      ran = true;
    }, controller.signal);
    controller.abort(new Error("cancelled"));
    await expect(second).rejects.toThrow("cancelled");
    release();
    await first;
    expect(ran).toBe(false);
  });
});
