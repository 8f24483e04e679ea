import { afterEach, describe, expect, it } from "vitest";
import type { BackendAdapter, TargetRef } from "../backends/types.js";
import { BackendUnavailableError } from "../errors.js";
import { ReadinessMonitor, type ReadinessProbe } from "./readiness.js";

/** An adapter whose readiness answers are set by the test: a boolean, "throw" or "hang". */
function adapter(name: string, answers: Map<string, boolean | "throw" | "hang">) {
  const calls: string[] = [];
  const fake: BackendAdapter = {
    name,
    type: "triton",
    infer: () => Promise.reject(new Error("not used")),
    metadata: () => Promise.reject(new Error("not used")),
    health: () => Promise.resolve(true),
    close: () => Promise.resolve(),
    ready: (target: TargetRef) => {
      calls.push(target.model);
      const answer = answers.get(target.model) ?? true;
      if (answer === "throw") return Promise.reject(new BackendUnavailableError("refused"));
      if (answer === "hang") return new Promise<boolean>(() => undefined);
      return Promise.resolve(answer);
    },
  };
  return { fake, calls };
}

const monitors: ReadinessMonitor[] = [];
afterEach(() => {
  for (const m of monitors.splice(0)) m.close();
});

function monitor(changes: Array<[string, boolean]> = []) {
  const m = new ReadinessMonitor({
    intervalMs: 10,
    probeTimeoutMs: 30,
    onChange: (key, ready) => changes.push([key, ready]),
  });
  monitors.push(m);
  return m;
}

const probe = (key: string, a: BackendAdapter, model = key): ReadinessProbe => ({
  key,
  adapter: a,
  target: { backend: a.name, model },
});

describe("ReadinessMonitor", () => {
  it("is unknown until probed, then follows the backend's answers", async () => {
    const answers = new Map<string, boolean | "throw" | "hang">([
      ["a", true],
      ["b", false],
    ]);
    const { fake } = adapter("x", answers);
    const changes: Array<[string, boolean]> = [];
    const m = monitor(changes);
    expect(m.ready("a")).toBeUndefined();
    m.sync([probe("a", fake), probe("b", fake)]);
    await m.settled();
    expect([m.ready("a"), m.ready("b")]).toEqual([true, false]);
    answers.set("b", true);
    answers.set("a", false);
    await expect.poll(() => [m.ready("a"), m.ready("b")]).toEqual([false, true]);
    // A first "ready" is no news; every later change is.
    expect(changes).toEqual([
      ["b", false],
      ["a", false],
      ["b", true],
    ]);
  });

  it("counts a probe that fails or hangs past its timeout as not ready", async () => {
    const answers = new Map<string, boolean | "throw" | "hang">([
      ["t", "throw"],
      ["h", "hang"],
    ]);
    const { fake } = adapter("x", answers);
    const m = monitor();
    m.sync([probe("t", fake), probe("h", fake)]);
    await m.settled();
    expect([m.ready("t"), m.ready("h")]).toEqual([false, false]);
  });

  it("keeps answers for targets a sync leaves alone and forgets replaced or dropped ones", async () => {
    const answers = new Map<string, boolean | "throw" | "hang">([
      ["a", false],
      ["b", false],
    ]);
    const first = adapter("x", answers);
    const m = monitor();
    m.sync([probe("a", first.fake), probe("b", first.fake)]);
    await m.settled();
    // Probes now hang, so whatever is known afterwards was kept, not re-learned.
    answers.set("a", "hang");
    answers.set("b", "hang");
    const second = adapter("y", answers);
    m.sync([probe("a", first.fake), probe("b", second.fake)]);
    expect(m.ready("a")).toBe(false); // same adapter and target: kept
    expect(m.ready("b")).toBeUndefined(); // another adapter: unknown until probed
    m.sync([]);
    expect(m.ready("a")).toBeUndefined();
  });

  it("stops probing when closed", async () => {
    const { fake, calls } = adapter("x", new Map());
    const m = monitor();
    m.sync([probe("a", fake)]);
    await expect.poll(() => calls.length).toBeGreaterThanOrEqual(3);
    m.close();
    await m.settled();
    const seen = calls.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls.length).toBe(seen);
  });
});
