import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { rolloutSchema } from "../../config/schema.js";
import { RolloutController, type RolloutSnapshot, type RolloutState } from "./controller.js";
import { ArmStats } from "./stats.js";

const INTERVAL_MS = 60_000;
const START = Date.parse("2025-01-01T00:00:00.000Z");

function config(overrides: Record<string, unknown> = {}) {
  return rolloutSchema.parse({
    from: "1",
    to: "2",
    steps: [5, 25, 50, 100],
    intervalSeconds: INTERVAL_MS / 1000,
    ...overrides,
  });
}

function start(overrides: Record<string, unknown> = {}) {
  const changes: RolloutSnapshot[] = [];
  const rollout = new RolloutController({
    model: "m",
    config: config(overrides),
    onChange: (s) => changes.push(s),
  });
  return { rollout, changes };
}

/** Records `n` requests of `version`, every `failEvery`-th failing, all taking `latencyMs`. */
function feed(
  rollout: RolloutController,
  version: string,
  n: number,
  { failEvery = 0, latencyMs = 10 }: { failEvery?: number; latencyMs?: number } = {},
): void {
  for (let i = 1; i <= n; i += 1) {
    rollout.record(version, !(failEvery > 0 && i % failEvery === 0), latencyMs);
  }
}

function healthyInterval(rollout: RolloutController): void {
  feed(rollout, "1", 300);
  feed(rollout, "2", 150);
  vi.advanceTimersByTime(INTERVAL_MS);
}

function sum(rollout: RolloutController): number {
  return rollout.weights().reduce((total, e) => total + e.weight, 0);
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
});

afterEach(() => {
  vi.useRealTimers();
});

describe("RolloutController", () => {
  it("walks a healthy canary through every step to done", () => {
    const { rollout, changes } = start();
    expect(rollout.weights()).toEqual([
      { version: "1", weight: 95 },
      { version: "2", weight: 5 },
    ]);
    const snap = rollout.snapshot();
    expect(snap).toMatchObject({ model: "m", from: "1", to: "2", phase: "progressing", step: 0 });
    expect(snap.since).toBe("2025-01-01T00:00:00.000Z");

    const seen: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      healthyInterval(rollout);
      seen.push(rollout.snapshot().weight);
      expect(sum(rollout)).toBe(100);
    }
    expect(seen).toEqual([25, 50, 100]);
    expect(rollout.snapshot()).toMatchObject({ phase: "progressing", step: 3 });
    expect(rollout.weights()).toEqual([
      { version: "1", weight: 0 },
      { version: "2", weight: 100 },
    ]);

    // At 100% the stable gets no traffic; the canary is judged against the remembered baseline.
    feed(rollout, "2", 150);
    vi.advanceTimersByTime(INTERVAL_MS);
    expect(rollout.snapshot()).toMatchObject({ phase: "done", weight: 100, step: 3 });
    expect(rollout.snapshot().since).toBe(new Date(START + 4 * INTERVAL_MS).toISOString());
    expect(changes.map((c) => [c.phase, c.weight])).toEqual([
      ["progressing", 25],
      ["progressing", 50],
      ["progressing", 100],
      ["done", 100],
    ]);
    expect(changes[0]?.lastDecision).toMatch(/^advanced to 25%/);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rolls a canary failing at 20% back within one interval, mid-interval", () => {
    const { rollout, changes } = start();
    healthyInterval(rollout); // now at 25%
    feed(rollout, "1", 200, { failEvery: 200 }); // stable at 0.5%
    feed(rollout, "2", 99, { failEvery: 5 });
    expect(rollout.snapshot().phase).toBe("progressing");
    feed(rollout, "2", 1, { failEvery: 1 }); // the 100th canary request: 20% errors
    const snap = rollout.snapshot();
    expect(snap.phase).toBe("rolledBack");
    expect(snap.weight).toBe(0);
    expect(snap.stats?.to).toMatchObject({ requests: 100, errors: 20 });
    expect(rollout.weights()).toEqual([
      { version: "1", weight: 100 },
      { version: "2", weight: 0 },
    ]);
    expect(changes).toHaveLength(2);
    expect(changes[1]?.phase).toBe("rolledBack");
    expect(changes[1]?.lastDecision).toMatch(/^rolled back from 25%: canary error rate 20\.0%/);
    expect(snap.since).toBe(new Date(START + INTERVAL_MS).toISOString());
    expect(vi.getTimerCount()).toBe(0);

    // Terminal: later traffic and time change nothing.
    feed(rollout, "2", 1000);
    vi.advanceTimersByTime(10 * INTERVAL_MS);
    expect(rollout.snapshot().phase).toBe("rolledBack");
    expect(changes).toHaveLength(2);
  });

  it("rolls back at the interval's end when the stable's errors drop below the canary's", () => {
    const { rollout, changes } = start();
    // Canary at 10% errors while the stable is at 10% too: within bounds mid-interval.
    feed(rollout, "1", 100, { failEvery: 10 });
    feed(rollout, "2", 100, { failEvery: 10 });
    expect(rollout.snapshot().phase).toBe("progressing");
    // The stable recovers: 1000 more ok requests bring it to 0.9%, the canary stays at 10%.
    feed(rollout, "1", 1000);
    expect(rollout.snapshot().phase).toBe("progressing");
    vi.advanceTimersByTime(INTERVAL_MS);
    expect(rollout.snapshot()).toMatchObject({ phase: "rolledBack", weight: 0 });
    expect(changes).toHaveLength(1);
    expect(changes[0]?.lastDecision).toMatch(/error rate 10\.0% exceeds stable 0\.9%/);
  });

  it("tolerates an error-rate increase up to maxErrorRateIncrease", () => {
    const { rollout } = start({ maxErrorRateIncrease: 0.05 });
    feed(rollout, "1", 100, { failEvery: 50 }); // 2%
    feed(rollout, "2", 100, { failEvery: 20 }); // 5%: +3 points
    vi.advanceTimersByTime(INTERVAL_MS);
    expect(rollout.snapshot()).toMatchObject({ phase: "progressing", weight: 25 });
  });

  it("rolls back at the interval's end when the canary's p99 exceeds maxP99Ratio", () => {
    const { rollout, changes } = start();
    feed(rollout, "1", 200, { latencyMs: 100 });
    feed(rollout, "2", 200, { latencyMs: 160 });
    expect(rollout.snapshot().phase).toBe("progressing");
    vi.advanceTimersByTime(INTERVAL_MS);
    expect(rollout.snapshot()).toMatchObject({ phase: "rolledBack", weight: 0 });
    expect(changes).toHaveLength(1);
    expect(changes[0]?.lastDecision).toMatch(/canary p99 160 ms is 1\.60x the stable's 100 ms/);
  });

  it("advances when the canary's p99 stays within maxP99Ratio", () => {
    const { rollout } = start();
    feed(rollout, "1", 200, { latencyMs: 100 });
    feed(rollout, "2", 200, { latencyMs: 140 });
    vi.advanceTimersByTime(INTERVAL_MS);
    expect(rollout.snapshot()).toMatchObject({ phase: "progressing", weight: 25 });
  });

  it("does not divide by a zero stable p99", () => {
    const { rollout } = start();
    feed(rollout, "1", 200, { latencyMs: 0 });
    feed(rollout, "2", 200, { latencyMs: 0.5 });
    vi.advanceTimersByTime(INTERVAL_MS);
    expect(rollout.snapshot()).toMatchObject({ phase: "progressing", weight: 25 });
  });

  it("makes no decision below minRequests, and resets the stats each interval", () => {
    const { rollout, changes } = start();
    feed(rollout, "1", 500);
    feed(rollout, "2", 99, { failEvery: 1 }); // all failing, but too few to judge
    vi.advanceTimersByTime(INTERVAL_MS);
    const snap = rollout.snapshot();
    expect(snap).toMatchObject({ phase: "progressing", step: 0, weight: 5 });
    expect(snap.lastDecision).toBe("waiting at 5%: canary had 99 of 100 requests needed");
    expect(snap.since).toBe("2025-01-01T00:00:00.000Z");
    expect(snap.stats?.to).toEqual({ requests: 0, errors: 0, p99Ms: null });
    expect(changes).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(1);

    // The 99 failures are forgotten: 100 healthy requests in the next interval advance it.
    feed(rollout, "1", 500);
    feed(rollout, "2", 100);
    vi.advanceTimersByTime(INTERVAL_MS);
    expect(rollout.snapshot()).toMatchObject({ phase: "progressing", weight: 25 });
    expect(changes).toHaveLength(1);
  });

  it("keeps the weights summing to 100 at every step", () => {
    const { rollout } = start({ steps: [1, 10, 33, 67, 99, 100] });
    const weights: number[] = [];
    while (rollout.snapshot().phase === "progressing") {
      expect(sum(rollout)).toBe(100);
      weights.push(rollout.weights()[1]?.weight ?? -1);
      healthyInterval(rollout);
    }
    expect(weights).toEqual([1, 10, 33, 67, 99, 100]);
    expect(rollout.snapshot().phase).toBe("done");
    expect(sum(rollout)).toBe(100);
  });

  it("rolls back a canary failing at 100% against the last stable baseline", () => {
    const { rollout, changes } = start({ steps: [50, 100] });
    healthyInterval(rollout);
    expect(rollout.snapshot().weight).toBe(100);
    feed(rollout, "2", 100, { failEvery: 5 });
    expect(rollout.snapshot()).toMatchObject({ phase: "rolledBack", weight: 0 });
    expect(changes.at(-1)?.lastDecision).toMatch(/exceeds stable 0\.0%/);
  });

  it("passes a 0% step after one interval, since it sends the canary nothing", () => {
    const { rollout } = start({ steps: [0, 50, 100] });
    expect(rollout.weights()[1]?.weight).toBe(0);
    vi.advanceTimersByTime(INTERVAL_MS);
    expect(rollout.snapshot()).toMatchObject({ phase: "progressing", weight: 50 });
  });

  it("ignores versions other than from and to", () => {
    const { rollout } = start();
    feed(rollout, "3", 500, { failEvery: 1 });
    expect(rollout.snapshot().stats).toEqual({
      from: { requests: 0, errors: 0, p99Ms: null },
      to: { requests: 0, errors: 0, p99Ms: null },
    });
  });

  it("keeps memory bounded over 1,000,000 records and still judges them", () => {
    const { rollout } = start();
    for (let i = 0; i < 500_000; i += 1) {
      rollout.record("1", true, 10 + (i % 100));
      rollout.record("2", true, 10 + (i % 100));
    }
    const stats = rollout.snapshot().stats;
    expect(stats?.from.requests).toBe(500_000);
    expect(stats?.to.requests).toBe(500_000);
    // Latencies 10..109 evenly: the nearest-rank p99 is 108 ms, reported within 2%.
    expect(stats?.to.p99Ms).toBeGreaterThanOrEqual(108);
    expect(stats?.to.p99Ms).toBeLessThanOrEqual(108 * 1.02);
    vi.advanceTimersByTime(INTERVAL_MS);
    expect(rollout.snapshot()).toMatchObject({ phase: "progressing", weight: 25 });
  });

  it("stops its timer on close", () => {
    const { rollout, changes } = start();
    expect(vi.getTimerCount()).toBe(1);
    rollout.close();
    expect(vi.getTimerCount()).toBe(0);
    healthyInterval(rollout);
    expect(rollout.snapshot()).toMatchObject({ phase: "progressing", weight: 5 });
    expect(changes).toHaveLength(0);
    rollout.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("uses the injected clock and timer", () => {
    let now = 1_000;
    const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
    const rollout = new RolloutController({
      model: "m",
      config: config({ minRequests: 0 }),
      now: () => now,
      setTimer: (fn, ms) => {
        const t = { fn, ms, cleared: false };
        timers.push(t);
        return { clear: () => (t.cleared = true) };
      },
    });
    expect(timers.map((t) => t.ms)).toEqual([INTERVAL_MS]);
    now = 5_000;
    timers[0]?.fn();
    expect(rollout.snapshot()).toMatchObject({ weight: 25, since: new Date(5_000).toISOString() });
    expect(timers).toHaveLength(2);
    rollout.close();
    expect(timers[1]?.cleared).toBe(true);
  });

  describe("driven from outside (replicas sharing a rollout)", () => {
    function external(initial?: RolloutState) {
      const changes: Array<[RolloutSnapshot, string]> = [];
      const rollout = new RolloutController({
        model: "m",
        config: config(),
        external: true,
        ...(initial === undefined ? {} : { initial }),
        onChange: (s, origin) => changes.push([s, origin]),
      });
      return { rollout, changes };
    }

    it("sends the canary nothing until it has the fleet's state", () => {
      const { rollout, changes } = external();
      expect(rollout.weight).toBe(0);
      expect(rollout.weights()).toEqual([
        { version: "1", weight: 100 },
        { version: "2", weight: 0 },
      ]);
      rollout.adopt({ phase: "progressing", step: 0, since: START });
      expect(rollout.weight).toBe(5);
      expect(changes.map(([s, origin]) => [s.weight, origin])).toEqual([[5, "adopted"]]);
    });

    it("sets no timer and judges the arms it is given", () => {
      const { rollout, changes } = external({ phase: "progressing", step: 0, since: START });
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(10 * INTERVAL_MS);
      expect(rollout.weight).toBe(5);
      // Another replica's numbers: healthy, enough canary requests.
      const other = new RolloutController({ model: "m", config: config(), external: true });
      feed(other, "1", 300);
      feed(other, "2", 150);
      const merged = { from: new ArmStats(), to: new ArmStats() };
      merged.from.add(other.localData().from);
      merged.to.add(other.localData().to);
      expect(rollout.endInterval(merged)).toBe(true);
      expect(rollout.weight).toBe(25);
      expect(changes.map(([s, origin]) => [s.weight, origin])).toEqual([[25, "decided"]]);
      expect(rollout.state()).toMatchObject({ phase: "progressing", step: 1 });
      expect(rollout.state().baseline).toEqual({ errorRate: 0, p99: 10 });
    });

    it("rolls back on merged numbers mid-interval", () => {
      const { rollout, changes } = external({ phase: "progressing", step: 0, since: START });
      const merged = { from: new ArmStats(), to: new ArmStats() };
      for (let i = 0; i < 100; i += 1) merged.to.record(i % 4 !== 0, 10);
      expect(rollout.checkBreach(merged)).toBe(true);
      expect(rollout.weight).toBe(0);
      expect(changes[0]?.[0].lastDecision).toMatch(/25\.0%.*\(mid-interval\)$/);
      expect(rollout.checkBreach(merged)).toBe(false);
    });

    it("resumes from an initial state and adopts states decided elsewhere", () => {
      const { rollout, changes } = external({
        phase: "progressing",
        step: 2,
        since: START - 1000,
        lastDecision: "advanced to 50%: fine",
        baseline: { errorRate: 0.01, p99: 12 },
      });
      expect(rollout.weight).toBe(50);
      expect(rollout.snapshot()).toMatchObject({
        step: 2,
        since: new Date(START - 1000).toISOString(),
        lastDecision: "advanced to 50%: fine",
      });
      feed(rollout, "2", 10);
      rollout.adopt({ ...rollout.state(), step: 3, since: START });
      expect(rollout.weight).toBe(100);
      expect(rollout.snapshot().stats?.to.requests).toBe(0);
      expect(changes.map(([s, origin]) => [s.weight, origin])).toEqual([[100, "adopted"]]);
      // The same state again is no change.
      rollout.adopt(rollout.state());
      expect(changes).toHaveLength(1);
      rollout.adopt({ phase: "rolledBack", step: 3, since: START, lastDecision: "rolled back" });
      expect(rollout.weights()).toEqual([
        { version: "1", weight: 100 },
        { version: "2", weight: 0 },
      ]);
      // A step out of range from a confused peer is clamped, not trusted.
      const clamped = external({ phase: "progressing", step: 99, since: START });
      expect(clamped.rollout.snapshot()).toMatchObject({ step: 3, weight: 100 });
    });

    it("a timer-driven controller resumed as terminal sets no timer", () => {
      const rollout = new RolloutController({
        model: "m",
        config: config(),
        initial: { phase: "done", step: 3, since: START },
      });
      expect(vi.getTimerCount()).toBe(0);
      expect(rollout.weight).toBe(100);
    });
  });
});
