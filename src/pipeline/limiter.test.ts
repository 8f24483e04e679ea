import { afterEach, describe, expect, it, vi } from "vitest";
import type { BackendResult } from "../backends/types.js";
import { BackendError, BackendTimeoutError, GatewayError } from "../errors.js";
import { ConcurrencyLimiter, SHED_RETRY_AFTER_SECONDS } from "./limiter.js";
import type { InferFn, TargetCall } from "./types.js";

const FAR = 10_000_000_000_000; // a deadline that never passes in these tests

function request(id: string, deadlineAt = FAR, signal = new AbortController().signal): TargetCall {
  return {
    target: { backend: "b", model: "m" },
    call: { id, inputs: [], deadline: deadlineAt, signal },
  };
}

/** A fake backend whose calls stay pending until the test settles them; it tracks concurrency. */
function fakeBackend() {
  const pending: {
    id: string;
    resolve: (r: BackendResult) => void;
    reject: (e: unknown) => void;
  }[] = [];
  const started: string[] = [];
  const state = { running: 0, peak: 0 };
  const next: InferFn = (r) => {
    const id = r.call.id ?? "";
    started.push(id);
    state.running++;
    state.peak = Math.max(state.peak, state.running);
    return new Promise<BackendResult>((resolve, reject) => {
      pending.push({ id, resolve, reject });
    }).finally(() => {
      state.running--;
    });
  };
  /** Settles the oldest pending call. */
  const settle = (how: "ok" | "fail" = "ok") => {
    const call = pending.shift();
    if (call === undefined) throw new Error("no pending call");
    if (how === "ok") call.resolve({ outputs: [], modelVersion: call.id });
    else call.reject(new BackendError(`call ${call.id} failed`));
  };
  return { next, pending, started, state, settle };
}

/** Lets promise callbacks run (no timers involved). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

afterEach(() => {
  vi.useRealTimers();
});

describe("ConcurrencyLimiter", () => {
  it("runs at most maxInFlight calls at once and starts waiters in FIFO order", async () => {
    const limiter = new ConcurrencyLimiter({ config: { maxInFlight: 2, maxQueue: 10 } });
    const backend = fakeBackend();
    const fn = limiter.policy(backend.next);
    const ids = ["a", "b", "c", "d", "e", "f"];
    const results = ids.map((id) => fn(request(id)));
    await flush();
    expect(backend.started).toEqual(["a", "b"]);
    expect(limiter.inFlight).toBe(2);
    expect(limiter.queued).toBe(4);
    for (let i = 0; i < ids.length; i++) {
      backend.settle();
      await flush();
    }
    expect(backend.started).toEqual(ids);
    expect(backend.state.peak).toBe(2);
    const versions = (await Promise.all(results)).map((r) => r.modelVersion);
    expect(versions).toEqual(ids);
    expect(limiter.inFlight).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it("sheds beyond the queue at once with OVERLOADED, 503 and Retry-After", async () => {
    let shed = 0;
    const depths: number[] = [];
    const limiter = new ConcurrencyLimiter({
      config: { maxInFlight: 1, maxQueue: 1 },
      onShed: () => shed++,
      onQueueDepth: (d) => depths.push(d),
    });
    const backend = fakeBackend();
    const fn = limiter.policy(backend.next);
    const first = fn(request("1"));
    const second = fn(request("2"));
    // "At once": refused before any slot frees, not after a wait.
    let err: unknown;
    fn(request("3")).catch((e: unknown) => {
      err = e;
    });
    await flush();
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({
      code: "OVERLOADED",
      status: 503,
      retryAfterSeconds: SHED_RETRY_AFTER_SECONDS,
    });
    expect(SHED_RETRY_AFTER_SECONDS).toBe(1);
    expect(shed).toBe(1);
    expect(backend.started).toEqual(["1"]);
    backend.settle();
    await flush();
    backend.settle();
    await expect(first).resolves.toMatchObject({ modelVersion: "1" });
    await expect(second).resolves.toMatchObject({ modelVersion: "2" });
    expect(depths).toEqual([1, 0]);
  });

  it("with maxQueue 0 sheds every call beyond maxInFlight", async () => {
    const limiter = new ConcurrencyLimiter({ config: { maxInFlight: 1, maxQueue: 0 } });
    const backend = fakeBackend();
    const fn = limiter.policy(backend.next);
    const first = fn(request("1"));
    let err: unknown;
    fn(request("2")).catch((e: unknown) => {
      err = e;
    });
    await flush();
    expect(err).toMatchObject({ code: "OVERLOADED" });
    expect(limiter.queued).toBe(0);
    backend.settle();
    await expect(first).resolves.toMatchObject({ modelVersion: "1" });
  });

  it("a failing call releases its slot to the next waiter", async () => {
    const limiter = new ConcurrencyLimiter({ config: { maxInFlight: 1, maxQueue: 5 } });
    const backend = fakeBackend();
    const fn = limiter.policy(backend.next);
    const failing = fn(request("bad"));
    const waiting = fn(request("good"));
    backend.settle("fail");
    await expect(failing).rejects.toMatchObject({ code: "BACKEND_ERROR" });
    await flush();
    expect(backend.started).toEqual(["bad", "good"]);
    expect(limiter.inFlight).toBe(1);
    backend.settle();
    await expect(waiting).resolves.toMatchObject({ modelVersion: "good" });
    expect(limiter.inFlight).toBe(0);
  });

  it("a call that throws synchronously releases its slot", async () => {
    const limiter = new ConcurrencyLimiter({ config: { maxInFlight: 1, maxQueue: 0 } });
    const fn = limiter.policy(() => {
      throw new BackendError("sync");
    });
    await expect(fn(request("1"))).rejects.toThrow("sync");
    await expect(fn(request("2"))).rejects.toThrow("sync");
    expect(limiter.inFlight).toBe(0);
  });

  it("an aborted waiter leaves the queue at once with the signal's reason and never runs", async () => {
    const depths: number[] = [];
    const limiter = new ConcurrencyLimiter({
      config: { maxInFlight: 1, maxQueue: 3 },
      onQueueDepth: (d) => depths.push(d),
    });
    const backend = fakeBackend();
    const fn = limiter.policy(backend.next);
    const client = new AbortController();
    const running = fn(request("run"));
    const before = fn(request("before"));
    const aborted = fn(request("aborted", FAR, client.signal));
    const after = fn(request("after"));
    expect(limiter.queued).toBe(3);
    const reason = new BackendTimeoutError("client went away");
    client.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(limiter.queued).toBe(2);
    for (let i = 0; i < 3; i++) {
      backend.settle();
      await flush();
    }
    await Promise.all([running, before, after]);
    expect(backend.started).toEqual(["run", "before", "after"]);
    expect(depths).toEqual([1, 2, 3, 2, 1, 0]);
    expect(limiter.inFlight).toBe(0);
  });

  it("an abort without a gateway reason rejects with BACKEND_TIMEOUT (abortError convention)", async () => {
    const limiter = new ConcurrencyLimiter({ config: { maxInFlight: 1, maxQueue: 1 } });
    const backend = fakeBackend();
    const fn = limiter.policy(backend.next);
    const client = new AbortController();
    const running = fn(request("run"));
    const waiting = fn(request("w", FAR, client.signal));
    client.abort();
    await expect(waiting).rejects.toMatchObject({ code: "BACKEND_TIMEOUT" });
    backend.settle();
    await running;
    expect(backend.started).toEqual(["run"]);
  });

  it("an already-aborted call takes neither a slot nor a queue place", async () => {
    const limiter = new ConcurrencyLimiter({ config: { maxInFlight: 1, maxQueue: 1 } });
    const backend = fakeBackend();
    const client = new AbortController();
    client.abort();
    await expect(
      limiter.policy(backend.next)(request("x", FAR, client.signal)),
    ).rejects.toMatchObject({ code: "BACKEND_TIMEOUT" });
    expect(backend.started).toEqual([]);
    expect(limiter.inFlight).toBe(0);
  });

  it("a waiter whose deadline passes leaves the queue with BACKEND_TIMEOUT and never runs", async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const limiter = new ConcurrencyLimiter({ config: { maxInFlight: 1, maxQueue: 2 } });
    const backend = fakeBackend();
    const fn = limiter.policy(backend.next);
    const running = fn(request("run"));
    const late = fn(request("late", 1_000_000 + 500));
    const patient = fn(request("patient"));
    const outcome = late.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(499);
    expect(limiter.queued).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    const err = await outcome;
    expect(err).toBeInstanceOf(BackendTimeoutError);
    expect(limiter.queued).toBe(1);
    backend.settle();
    await flush();
    backend.settle();
    await Promise.all([running, patient]);
    expect(backend.started).toEqual(["run", "patient"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a call whose deadline already passed is not queued", async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const limiter = new ConcurrencyLimiter({ config: { maxInFlight: 1, maxQueue: 2 } });
    const backend = fakeBackend();
    const fn = limiter.policy(backend.next);
    const running = fn(request("run"));
    await expect(fn(request("old", 1_000_000))).rejects.toMatchObject({
      code: "BACKEND_TIMEOUT",
    });
    expect(limiter.queued).toBe(0);
    backend.settle();
    await running;
  });

  it("starting a waiter drops its deadline timer and abort listener", async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const limiter = new ConcurrencyLimiter({ config: { maxInFlight: 1, maxQueue: 1 } });
    const backend = fakeBackend();
    const fn = limiter.policy(backend.next);
    const client = new AbortController();
    const running = fn(request("run"));
    const waiting = fn(request("w", 1_000_000 + 500, client.signal));
    expect(vi.getTimerCount()).toBe(1);
    backend.settle();
    await running;
    await flush();
    expect(vi.getTimerCount()).toBe(0);
    // Past the old deadline and after an abort, the started call is the backend's business only.
    await vi.advanceTimersByTimeAsync(1000);
    client.abort();
    expect(limiter.inFlight).toBe(1);
    backend.settle();
    await expect(waiting).resolves.toMatchObject({ modelVersion: "w" });
    expect(limiter.inFlight).toBe(0);
  });

  it("2000 concurrent calls against 16 in flight and 100 queued: 116 admitted, the rest shed", async () => {
    let shed = 0;
    const limiter = new ConcurrencyLimiter({
      config: { maxInFlight: 16, maxQueue: 100 },
      onShed: () => shed++,
    });
    const backend = fakeBackend();
    const fn = limiter.policy(backend.next);
    const outcomes = Array.from({ length: 2000 }, (_, i) =>
      fn(request(String(i))).then(
        (r) => ({ ok: true as const, version: r.modelVersion }),
        (e: unknown) => ({ ok: false as const, error: e }),
      ),
    );
    expect(limiter.inFlight).toBe(16);
    expect(limiter.queued).toBe(100);
    expect(shed).toBe(1884);
    await flush();
    expect(backend.pending).toHaveLength(16);

    for (let round = 0; round < 200 && backend.pending.length > 0; round++) {
      while (backend.pending.length > 0) backend.settle();
      await flush();
      expect(backend.state.running).toBeLessThanOrEqual(16);
    }
    const settled = await Promise.all(outcomes);
    const admitted = settled.filter((o) => o.ok);
    const refused = settled.filter((o) => !o.ok);
    expect(admitted.map((o) => o.version)).toEqual(
      Array.from({ length: 116 }, (_, i) => String(i)),
    );
    expect(refused).toHaveLength(1884);
    for (const o of refused) expect(o.error).toMatchObject({ code: "OVERLOADED" });
    expect(backend.started).toHaveLength(116);
    expect(backend.state.peak).toBe(16);
    expect(limiter.inFlight).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  describe("priority lanes", () => {
    const lane = (id: string, priority: "live" | "async" | "batch"): TargetCall => {
      const r = request(id);
      r.call.priority = priority;
      return r;
    };

    it("keeps a quarter of the slots for live calls: async work never holds them all", async () => {
      const limiter = new ConcurrencyLimiter({ config: { maxInFlight: 4, maxQueue: 10 } });
      const backend = fakeBackend();
      const fn = limiter.policy(backend.next);
      const jobs = ["a1", "a2", "a3", "a4", "a5"].map((id) => fn(lane(id, "async")));
      await flush();
      expect(backend.started).toEqual(["a1", "a2", "a3"]);
      expect(limiter.queued).toBe(2);
      const live = fn(request("live"));
      await flush();
      expect(backend.started).toEqual(["a1", "a2", "a3", "live"]);
      while (backend.pending.length > 0) {
        backend.settle();
        await flush();
      }
      await Promise.all([live, ...jobs]);
      expect(backend.started).toEqual(["a1", "a2", "a3", "live", "a4", "a5"]);
      expect(limiter.inFlight).toBe(0);
    });

    it("hands a freed slot to a live waiter first, then async, then batch, whatever their age", async () => {
      const limiter = new ConcurrencyLimiter({ config: { maxInFlight: 1, maxQueue: 10 } });
      const backend = fakeBackend();
      const fn = limiter.policy(backend.next);
      const all = [
        fn(request("first")),
        fn(lane("b1", "batch")),
        fn(lane("a1", "async")),
        fn(request("l1")),
        fn(lane("a2", "async")),
        fn(request("l2")),
      ];
      await flush();
      expect(limiter.queued).toBe(5);
      while (backend.pending.length > 0) {
        backend.settle();
        await flush();
      }
      await Promise.all(all);
      expect(backend.started).toEqual(["first", "l1", "l2", "a1", "a2", "b1"]);
    });

    it("bounds each lane's line by maxQueue on its own, so background work cannot shed live calls", async () => {
      const limiter = new ConcurrencyLimiter({ config: { maxInFlight: 1, maxQueue: 2 } });
      const backend = fakeBackend();
      const fn = limiter.policy(backend.next);
      const settledOf = (p: Promise<unknown>) =>
        p.then(
          () => "ok",
          (e: { code?: string }) => e.code,
        );
      const running = settledOf(fn(request("x")));
      const async = ["a1", "a2", "a3"].map((id) => settledOf(fn(lane(id, "async"))));
      const live = ["l1", "l2"].map((id) => settledOf(fn(request(id))));
      await flush();
      expect(await async[2]).toBe("OVERLOADED");
      while (backend.pending.length > 0) {
        backend.settle();
        await flush();
      }
      expect(await Promise.all([running, ...live, async[0], async[1]])).toEqual([
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
      ]);
    });
  });
});
