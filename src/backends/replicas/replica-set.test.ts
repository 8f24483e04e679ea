import { describe, expect, it } from "vitest";
import type { OutlierDetectionConfig } from "../../config/schema.js";
import {
  BackendUnavailableError,
  InvalidRequestError,
  ModelNotFoundError,
  OverloadedError,
} from "../../errors.js";
import type {
  BackendAdapter,
  BackendCall,
  BackendResult,
  ModelMetadata,
  TargetRef,
} from "../types.js";
import { ReplicaSet } from "./replica-set.js";

/** How a fake replica answers inference calls. */
type Behavior = "ok" | "unavailable" | "invalid" | "overloaded" | "hold";

interface Held {
  resolve: (r: BackendResult) => void;
  reject: (e: unknown) => void;
}

/** A replica whose answers the test decides; `hold` keeps calls in flight until released. */
class FakeReplica implements BackendAdapter {
  readonly name = "b";
  readonly type = "triton" as const;
  behavior: Behavior = "ok";
  calls = 0;
  readonly held: Held[] = [];
  metadataError: unknown;
  readyAnswer: boolean | Error = true;
  healthy = true;
  closeError: unknown;
  closed = false;

  constructor(readonly label: string) {}

  infer(_target: TargetRef, _call: BackendCall): Promise<BackendResult> {
    this.calls++;
    switch (this.behavior) {
      case "ok":
        return Promise.resolve(this.result());
      case "unavailable":
        return Promise.reject(new BackendUnavailableError(`${this.label} down`));
      case "invalid":
        return Promise.reject(new InvalidRequestError("bad input"));
      case "overloaded":
        return Promise.reject(new OverloadedError("busy"));
      case "hold":
        return new Promise((resolve, reject) => this.held.push({ resolve, reject }));
    }
  }

  /** Answers the oldest held call. */
  release(outcome: "ok" | "unavailable"): void {
    const next = this.held.shift();
    if (next === undefined) throw new Error(`${this.label} holds no call`);
    if (outcome === "ok") next.resolve(this.result());
    else next.reject(new BackendUnavailableError(`${this.label} down`));
  }

  result(): BackendResult {
    return { outputs: [], modelVersion: this.label };
  }

  metadata(target: TargetRef): Promise<ModelMetadata> {
    if (this.metadataError !== undefined) return Promise.reject(this.metadataError);
    return Promise.resolve({
      name: target.model,
      versions: [this.label],
      platform: "fake",
      inputs: [],
      outputs: [],
    });
  }

  ready(): Promise<boolean> {
    const answer = this.readyAnswer;
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  }

  health(): Promise<boolean> {
    return Promise.resolve(this.healthy);
  }

  close(): Promise<void> {
    this.closed = true;
    return this.closeError === undefined ? Promise.resolve() : Promise.reject(this.closeError);
  }
}

const target: TargetRef = { backend: "b", model: "m" };

function call(): BackendCall {
  return { inputs: [], deadline: Date.now() + 60_000, signal: new AbortController().signal };
}

const DETECTION: OutlierDetectionConfig = {
  consecutiveFailures: 3,
  baseEjectionTimeMs: 1000,
  maxEjectionTimeMs: 2500,
  maxEjectionPercent: 50,
};

function setup(count: number, detection: Partial<OutlierDetectionConfig> = {}) {
  const clock = { t: 0 };
  const ejected: string[] = [];
  const fakes = Array.from({ length: count }, (_, i) => new FakeReplica(`r${i}`));
  const set = new ReplicaSet(
    fakes.map((adapter) => ({ address: adapter.label, adapter })),
    { ...DETECTION, ...detection },
    { now: () => clock.t, onEject: (address) => ejected.push(address) },
  );
  return { set, fakes, clock, ejected };
}

/** Runs `n` calls one after another; returns who answered each ("!" for a failure). */
async function sequential(set: ReplicaSet, n: number): Promise<string[]> {
  const answers: string[] = [];
  for (let i = 0; i < n; i++) {
    answers.push(
      await set.infer(target, call()).then(
        (r) => r.modelVersion ?? "?",
        () => "!",
      ),
    );
  }
  return answers;
}

function stateOf(set: ReplicaSet, address: string) {
  const found = set.snapshot().find((s) => s.address === address);
  if (found === undefined) throw new Error(`no replica ${address}`);
  return found;
}

/** Lets held calls' settlements run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("ReplicaSet selection", () => {
  it("spreads sequential calls round robin when nothing is outstanding", async () => {
    const { set } = setup(3);
    expect(await sequential(set, 6)).toEqual(["r0", "r1", "r2", "r0", "r1", "r2"]);
  });

  it("sends each call to the replica with the fewest calls in flight", async () => {
    const { set, fakes } = setup(3);
    const [a, b, c] = fakes as [FakeReplica, FakeReplica, FakeReplica];
    for (const f of fakes) f.behavior = "hold";
    const first = [1, 2, 3].map(() => set.infer(target, call()));
    expect(fakes.map((f) => f.held.length)).toEqual([1, 1, 1]);

    b.release("ok");
    await first[1];
    const next = [set.infer(target, call()), set.infer(target, call())];
    // b had none in flight: it takes the first; then all have one and the tie goes on round robin.
    expect([a.calls, b.calls, c.calls]).toEqual([1, 2, 2]);
    expect(set.snapshot().map((s) => s.outstanding)).toEqual([1, 1, 2]);

    for (const f of fakes) while (f.held.length > 0) f.release("ok");
    await Promise.all([...first, ...next]);
    expect(set.snapshot().map((s) => s.outstanding)).toEqual([0, 0, 0]);
  });
});

describe("ReplicaSet outlier ejection", () => {
  it("ejects a replica after consecutiveFailures server-side failures in a row", async () => {
    const { set, fakes, ejected, clock } = setup(2);
    const bad = fakes[0] as FakeReplica;
    bad.behavior = "unavailable";
    clock.t = 5000;
    // r0 takes every other call: its 3rd failure is call 5.
    expect(await sequential(set, 5)).toEqual(["!", "r1", "!", "r1", "!"]);
    expect(ejected).toEqual(["r0"]);
    expect(stateOf(set, "r0")).toMatchObject({
      consecutiveFailures: 3,
      ejectedUntil: new Date(6000).toISOString(),
      timesEjected: 1,
    });
    expect(await sequential(set, 4)).toEqual(["r1", "r1", "r1", "r1"]);
    expect(bad.calls).toBe(3);
  });

  it("resets the count on a success", async () => {
    const { set, fakes, ejected } = setup(1, { maxEjectionPercent: 100 });
    const only = fakes[0] as FakeReplica;
    only.behavior = "unavailable";
    await sequential(set, 2);
    only.behavior = "ok";
    await sequential(set, 1);
    only.behavior = "unavailable";
    await sequential(set, 2);
    expect(ejected).toEqual([]);
    expect(stateOf(set, "r0").consecutiveFailures).toBe(2);
    await sequential(set, 1);
    expect(ejected).toEqual(["r0"]);
  });

  it("does not count client errors; OVERLOADED neither counts nor resets", async () => {
    const { set, fakes, ejected } = setup(1, { maxEjectionPercent: 100 });
    const only = fakes[0] as FakeReplica;
    only.behavior = "invalid";
    await sequential(set, 10);
    expect(stateOf(set, "r0").consecutiveFailures).toBe(0);

    only.behavior = "unavailable";
    await sequential(set, 2);
    only.behavior = "invalid";
    await sequential(set, 1); // a proper answer: the replica is alive
    only.behavior = "unavailable";
    await sequential(set, 2);
    expect(ejected).toEqual([]);

    only.behavior = "overloaded";
    await sequential(set, 3);
    expect(stateOf(set, "r0").consecutiveFailures).toBe(2);
    only.behavior = "unavailable";
    await sequential(set, 1);
    expect(ejected).toEqual(["r0"]);
  });

  it("ejects for base × n, capped, re-admitting on probation where the first call decides", async () => {
    const { set, fakes, clock, ejected } = setup(2);
    const [bad, good] = fakes as [FakeReplica, FakeReplica];
    bad.behavior = "unavailable";
    await sequential(set, 5);
    expect(stateOf(set, "r0").ejectedUntil).toBe(new Date(1000).toISOString());

    clock.t = 999;
    expect(await sequential(set, 3)).toEqual(["r1", "r1", "r1"]);
    expect(stateOf(set, "r0").probation).toBe(false);

    clock.t = 1000;
    expect(stateOf(set, "r0")).toMatchObject({ probation: true, ejectedUntil: null });
    // One failure on probation ejects again at once, for twice as long.
    const before = bad.calls;
    await sequential(set, 2);
    expect(bad.calls).toBe(before + 1);
    expect(stateOf(set, "r0")).toMatchObject({
      ejectedUntil: new Date(3000).toISOString(),
      timesEjected: 2,
    });

    clock.t = 3000;
    await sequential(set, 2);
    // 3 × 1000 is over the 2500 cap.
    expect(stateOf(set, "r0")).toMatchObject({
      ejectedUntil: new Date(5500).toISOString(),
      timesEjected: 3,
    });
    expect(ejected).toEqual(["r0", "r0", "r0"]);

    clock.t = 5500;
    bad.behavior = "ok";
    const answers = await sequential(set, 4);
    expect(answers.filter((a) => a === "r0")).toHaveLength(2);
    expect(stateOf(set, "r0")).toMatchObject({
      probation: false,
      ejectedUntil: null,
      consecutiveFailures: 0,
      timesEjected: 3,
    });
    expect(good.calls).toBeGreaterThan(0);
  });

  it("sends a re-admitted replica one call at a time until that call decides", async () => {
    const { set, fakes, clock } = setup(2);
    const [bad, good] = fakes as [FakeReplica, FakeReplica];
    bad.behavior = "unavailable";
    await sequential(set, 5);
    clock.t = 1000;
    bad.behavior = "hold";
    good.behavior = "hold";
    const calls = [1, 2, 3, 4].map(() => set.infer(target, call()));
    // r0's probe is in flight: r1 takes the rest although it has more outstanding.
    expect([bad.held.length, good.held.length]).toEqual([1, 3]);
    bad.release("ok");
    await settle();
    expect(stateOf(set, "r0").probation).toBe(false);
    const more = [set.infer(target, call()), set.infer(target, call())];
    expect([bad.held.length, good.held.length]).toEqual([2, 3]);
    for (const f of fakes) while (f.held.length > 0) f.release("ok");
    await Promise.all([...calls, ...more]);
  });

  it("ignores failures of calls that were in flight when the replica was ejected", async () => {
    const { set, fakes, ejected } = setup(2);
    const [bad, good] = fakes as [FakeReplica, FakeReplica];
    bad.behavior = "hold";
    good.behavior = "hold";
    const calls = Array.from({ length: 10 }, () => set.infer(target, call()).catch(() => "failed"));
    expect(bad.held.length).toBe(5);
    for (let i = 0; i < 5; i++) bad.release("unavailable");
    await settle();
    expect(ejected).toEqual(["r0"]);
    expect(stateOf(set, "r0")).toMatchObject({
      timesEjected: 1,
      ejectedUntil: new Date(1000).toISOString(),
    });
    while (good.held.length > 0) good.release("ok");
    await Promise.all(calls);
  });
});

describe("ReplicaSet ejection limits", () => {
  it("never ejects more than maxEjectionPercent, and ejects the next once a slot frees", async () => {
    const { set, fakes, clock, ejected } = setup(4, { maxEjectionPercent: 50 });
    for (const f of fakes.slice(0, 3)) f.behavior = "unavailable";
    await sequential(set, 40);
    expect(ejected).toEqual(["r0", "r1"]);
    const r2 = stateOf(set, "r2");
    expect(r2.ejectedUntil).toBeNull();
    expect(r2.consecutiveFailures).toBeGreaterThanOrEqual(3);

    // r0 comes back healthy; r2's next failure may now take the freed slot.
    (fakes[0] as FakeReplica).behavior = "ok";
    clock.t = 1000;
    await sequential(set, 4);
    expect(stateOf(set, "r0").probation).toBe(false);
    expect(ejected).toEqual(["r0", "r1", "r1", "r2"]);
  });

  it("ejects one of two replicas even when the percentage allows none", async () => {
    const { set, fakes, ejected } = setup(2, { maxEjectionPercent: 0 });
    for (const f of fakes) f.behavior = "unavailable";
    await sequential(set, 20);
    expect(ejected).toEqual(["r0"]);
  });

  it("still tries a replica when all are ejected: the least recently ejected", async () => {
    const { set, fakes, ejected, clock } = setup(2, { maxEjectionPercent: 100 });
    const [first, second] = fakes as [FakeReplica, FakeReplica];
    first.behavior = "unavailable";
    await sequential(set, 5);
    clock.t = 100;
    second.behavior = "unavailable";
    await sequential(set, 3);
    expect(ejected).toEqual(["r0", "r1"]);

    first.behavior = "ok";
    expect(await sequential(set, 1)).toEqual(["r0"]);
    // Its success proved it back.
    expect(stateOf(set, "r0")).toMatchObject({ ejectedUntil: null, consecutiveFailures: 0 });
    expect(await sequential(set, 2)).toEqual(["r0", "r0"]);
    expect(second.calls).toBe(5); // 2 answers, then the 3 failures that ejected it
  });

  it("shortens the next ejection after a long healthy spell (the multiplier decays)", async () => {
    const { set, fakes, clock } = setup(2);
    const bad = fakes[0] as FakeReplica;
    bad.behavior = "unavailable";
    await sequential(set, 5);
    clock.t = 1000;
    await sequential(set, 2); // probation failure: second ejection, 2000 ms
    clock.t = 3000;
    bad.behavior = "ok";
    await sequential(set, 2);
    clock.t = 13_000; // ten base periods in rotation
    bad.behavior = "unavailable";
    await sequential(set, 6);
    expect(stateOf(set, "r0")).toMatchObject({
      timesEjected: 3,
      ejectedUntil: new Date(14_000).toISOString(),
    });
  });
});

describe("ReplicaSet metadata, readiness, health, close", () => {
  it("asks another replica for metadata after a server-side failure, not after a client error", async () => {
    const { set, fakes } = setup(2);
    const [a, b] = fakes as [FakeReplica, FakeReplica];
    a.metadataError = new BackendUnavailableError("down");
    b.metadataError = undefined;
    expect((await set.metadata(target)).versions).toEqual(["r1"]);
    a.metadataError = new ModelNotFoundError("m");
    b.metadataError = new ModelNotFoundError("m");
    await expect(set.metadata(target)).rejects.toBeInstanceOf(ModelNotFoundError);
    a.metadataError = new BackendUnavailableError("down");
    b.metadataError = new BackendUnavailableError("down too");
    await expect(set.metadata(target)).rejects.toThrow("down too");
  });

  it("is ready when any replica is, healthy when any is", async () => {
    const { set, fakes } = setup(3);
    const [a, b, c] = fakes as [FakeReplica, FakeReplica, FakeReplica];
    a.readyAnswer = new BackendUnavailableError("down");
    b.readyAnswer = false;
    c.readyAnswer = true;
    expect(await set.ready(target)).toBe(true);
    c.readyAnswer = false;
    expect(await set.ready(target)).toBe(false);
    for (const f of fakes) f.readyAnswer = new BackendUnavailableError("down");
    await expect(set.ready(target)).rejects.toBeInstanceOf(BackendUnavailableError);

    a.healthy = false;
    b.healthy = false;
    expect(await set.health()).toBe(true);
    c.healthy = false;
    expect(await set.health()).toBe(false);
  });

  it("closes every replica even when one fails to close", async () => {
    const { set, fakes } = setup(3);
    (fakes[0] as FakeReplica).closeError = new Error("stuck");
    await expect(set.close()).rejects.toThrow("stuck");
    expect(fakes.map((f) => f.closed)).toEqual([true, true, true]);
  });

  it("takes name and type from its replicas and refuses an empty list", () => {
    const { set } = setup(2);
    expect([set.name, set.type]).toEqual(["b", "triton"]);
    expect(() => new ReplicaSet([], DETECTION)).toThrow("at least one replica");
  });
});
