import { describe, expect, it, vi } from "vitest";
import { InFlight } from "./in-flight.js";

describe("InFlight", () => {
  it("is idle at once with nothing in flight", async () => {
    await expect(new InFlight().idle(10)).resolves.toBe(true);
  });

  it("resolves idle when the last request leaves, and counts leaves once", async () => {
    const f = new InFlight();
    const a = f.enter();
    const b = f.enter();
    const idle = f.idle(10_000);
    a();
    a();
    expect(f.size).toBe(1);
    b();
    await expect(idle).resolves.toBe(true);
    expect(f.size).toBe(0);
  });

  it("gives up after the timeout", async () => {
    vi.useFakeTimers();
    try {
      const f = new InFlight();
      f.enter();
      const idle = f.idle(50);
      await vi.advanceTimersByTimeAsync(50);
      await expect(idle).resolves.toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
