import { describe, expect, it } from "vitest";
import { MAX_RESTARTS, RESTART_WINDOW_MS, RestartPolicy } from "./restart-policy.js";

describe("RestartPolicy", () => {
  it("doubles the wait for restarts close together and refuses one too many", () => {
    const policy = new RestartPolicy();
    const delays = Array.from({ length: MAX_RESTARTS + 1 }, (_, i) => policy.next(1000 + i));
    expect(delays).toEqual([100, 200, 400, 800, 1600, undefined]);
    expect(policy.recent).toBe(MAX_RESTARTS);
  });

  it("forgets restarts older than the window", () => {
    const policy = new RestartPolicy();
    for (let i = 0; i < MAX_RESTARTS; i++) policy.next(i);
    expect(policy.next(RESTART_WINDOW_MS - 1)).toBeUndefined();
    // The first restart (at 0) has left the window: one slot, at the fifth restart's wait.
    expect(policy.next(RESTART_WINDOW_MS)).toBe(1600);
    expect(policy.next(RESTART_WINDOW_MS + 5 * RESTART_WINDOW_MS)).toBe(100);
  });
});
