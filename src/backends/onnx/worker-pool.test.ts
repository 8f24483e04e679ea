import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { BackendUnavailableError, type GatewayError, InvalidRequestError } from "../../errors.js";
import { WorkerPool, type WorkerPoolOptions } from "./worker-pool.js";
import { PROTOCOL_VERSION } from "./worker-protocol.js";

/**
 * A worker speaking the pool's protocol (worker-protocol.ts) whose jobs are instructions, so the
 * pool's scheduling, deadlines, crashes and shutdown can be driven exactly. `hold` blocks the
 * worker thread on a SharedArrayBuffer gate until the test opens it: a run that lasts exactly as
 * long as the test wants, with no clock involved.
 */
const FIXTURE = `
import { parentPort, threadId, workerData } from "node:worker_threads";
let served = 0;
const reply = (id, value) => parentPort.postMessage({ type: "done", id, result: { value, thread: threadId, served } });
if (workerData.failStart) {
  parentPort.postMessage({ type: "failed", error: { code: "BACKEND_UNAVAILABLE", message: "cannot load x.onnx" } });
  parentPort.close();
} else {
  parentPort.on("message", (m) => {
    served++;
    const job = m.job;
    switch (job.op) {
      case "echo": return reply(m.id, job.value);
      case "hold": Atomics.wait(job.gate, 0, 0); return reply(m.id, job.value);
      case "fail": return parentPort.postMessage({ type: "fail", id: m.id, error: { code: "INVALID_REQUEST", message: "bad input" } });
      case "garbage": return parentPort.postMessage({ type: "done", id: m.id, result: 42 });
      case "exit": process.exit(3);
      case "throw": throw new Error("boom");
    }
  });
  parentPort.postMessage({ type: "ready", protocol: workerData.protocol, init: { thread: threadId } });
}
`;

interface Answer {
  value: unknown;
  thread: number;
  served: number;
}

function parseAnswer(value: unknown): Answer {
  if (typeof value === "object" && value !== null && "value" in value && "thread" in value) {
    return value as Answer;
  }
  throw new Error("not an answer");
}

let dir = "";
let script: URL;
let idle: URL;
const pools: WorkerPool<unknown, Answer>[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "infergate-pool-"));
  writeFileSync(join(dir, "fixture.mjs"), FIXTURE);
  writeFileSync(join(dir, "idle.mjs"), "// exits at once without a word\n");
  script = pathToFileURL(join(dir, "fixture.mjs"));
  idle = pathToFileURL(join(dir, "idle.mjs"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

async function start(
  extra: Partial<WorkerPoolOptions<unknown, Answer>> & {
    workerData?: Record<string, unknown>;
  } = {},
): Promise<WorkerPool<unknown, Answer>> {
  const { pool } = await WorkerPool.start<unknown, Answer>({
    label: "test pool",
    script,
    size: 1,
    restartDelayMs: { initial: 5, max: 20 },
    parseInit: (v) => v,
    parseResult: parseAnswer,
    ...extra,
    workerData: { protocol: PROTOCOL_VERSION, ...extra.workerData },
  });
  pools.push(pool);
  return pool;
}

const open = (): AbortSignal => new AbortController().signal;
const later = (): number => Date.now() + 30_000;

/** A gate a `hold` job waits on; open() lets the job finish. */
function gate(): { gate: Int32Array; open(): void } {
  const g = new Int32Array(new SharedArrayBuffer(4));
  return {
    gate: g,
    open() {
      Atomics.store(g, 0, 1);
      Atomics.notify(g, 0);
    },
  };
}

function run(pool: WorkerPool<unknown, Answer>, job: object, deadline = later(), signal = open()) {
  return pool.run(job, [], deadline, signal, "job");
}

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error) || !("code" in err)) throw new Error(`expected a GatewayError`);
  return err as GatewayError;
}

describe("WorkerPool", () => {
  it("starts its workers, runs jobs on them and reports their state", async () => {
    const pool = await start({ size: 2 });
    expect(pool.stats()).toEqual({ size: 2, alive: 2, busy: 0, queued: 0, restarts: 0 });
    const answer = await run(pool, { op: "echo", value: [1, 2n, "three"] });
    expect(answer.value).toEqual([1, 2n, "three"]);
  });

  it("gives later calls to a free worker while another is busy", async () => {
    const pool = await start({ size: 2 });
    const held = gate();
    const slow = run(pool, { op: "hold", gate: held.gate, value: "slow" });
    const fast: Answer[] = [];
    for (let i = 0; i < 3; i++) fast.push(await run(pool, { op: "echo", value: i }));
    expect(fast.map((a) => a.value)).toEqual([0, 1, 2]);
    expect(pool.stats()).toMatchObject({ busy: 1, queued: 0 });
    held.open();
    const answer = await slow;
    expect(answer.value).toBe("slow");
    expect(fast.every((a) => a.thread !== answer.thread)).toBe(true);
  });

  it("answers BACKEND_TIMEOUT at the deadline while the run goes on, and drops its late answer", async () => {
    const pool = await start();
    const held = gate();
    const err = await failure(
      run(pool, { op: "hold", gate: held.gate, value: "late" }, Date.now() + 30),
    );
    expect(err.code).toBe("BACKEND_TIMEOUT");
    expect(err.message).toMatch(/job: the deadline passed/);
    expect(pool.stats().busy).toBe(1); // the worker is still inside the run
    const next = run(pool, { op: "echo", value: "next" });
    expect(pool.stats().queued).toBe(1);
    held.open();
    const answer = await next;
    expect(answer).toMatchObject({ value: "next", served: 2 });
    expect(pool.stats()).toMatchObject({ busy: 0, queued: 0 });
  });

  it("drops a waiting call whose caller gives up, so it never takes a worker", async () => {
    const pool = await start();
    const held = gate();
    const running = run(pool, { op: "hold", gate: held.gate, value: "first" });
    const controller = new AbortController();
    const waiting = run(pool, { op: "echo", value: "abandoned" }, later(), controller.signal);
    const expired = run(pool, { op: "echo", value: "expired" }, Date.now() + 20);
    expect(pool.stats().queued).toBe(2);
    controller.abort();
    expect((await failure(waiting)).message).toMatch(/cancelled/);
    expect((await failure(expired)).code).toBe("BACKEND_TIMEOUT");
    expect(pool.stats().queued).toBe(0);
    held.open();
    await running;
    // Served counts every job the worker ran: the two dropped ones are not among them.
    expect(await run(pool, { op: "echo", value: "after" })).toMatchObject({ served: 2 });
  });

  it("refuses calls beyond the queue bound as BACKEND_UNAVAILABLE overloaded", async () => {
    const pool = await start({ size: 2, maxQueuePerWorker: 2 });
    const held = [gate(), gate()];
    const running = held.map((g) => run(pool, { op: "hold", gate: g.gate, value: "held" }));
    const waiting = [0, 1, 2, 3].map((i) => run(pool, { op: "echo", value: i }));
    expect(pool.stats()).toMatchObject({ busy: 2, queued: 4 });
    const err = await failure(run(pool, { op: "echo", value: "one too many" }));
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(err.message).toBe("test pool is overloaded: 4 calls already wait for its 2 workers");
    expect(err.retryAfterSeconds).toBe(1);
    for (const g of held) g.open();
    await Promise.all(running);
    expect((await Promise.all(waiting)).map((a) => a.value)).toEqual([0, 1, 2, 3]);
  });

  it("passes a worker's own error through with its code, and refuses a malformed answer", async () => {
    const pool = await start();
    const bad = await failure(run(pool, { op: "fail" }));
    expect(bad).toBeInstanceOf(InvalidRequestError);
    expect(bad.message).toBe("bad input");
    const garbage = await failure(run(pool, { op: "garbage" }));
    expect(garbage.code).toBe("BACKEND_ERROR");
    expect(garbage.message).toMatch(/answered in an unknown form/);
    expect((await run(pool, { op: "echo", value: 1 })).value).toBe(1);
  });

  it.each([
    ["exits", "exit", /exit code 3/],
    ["throws", "throw", /Error: boom/],
  ])(
    "fails the call of a worker that %s with BACKEND_UNAVAILABLE, then replaces it",
    async (_, op, reason) => {
      const pool = await start();
      const queued = (async () => {
        await Promise.resolve();
        return run(pool, { op: "echo", value: "behind the crash" });
      })();
      const err = await failure(run(pool, { op }));
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect(err.message).toMatch(/the worker running the call stopped/);
      expect(err.message).toMatch(reason);
      // With no worker left, the call that waited behind it fails too instead of waiting it out.
      expect((await failure(queued)).code).toBe("BACKEND_UNAVAILABLE");
      expect(pool.stats()).toMatchObject({ alive: 0, lastExit: expect.stringMatching(reason) });
      const meanwhile = await failure(run(pool, { op: "echo", value: 1 }));
      expect(meanwhile.message).toMatch(/no worker is running/);
      await vi.waitFor(() => expect(pool.stats().alive).toBe(1), { timeout: 5000 });
      expect(pool.stats().restarts).toBe(1);
      expect((await run(pool, { op: "echo", value: "again" })).value).toBe("again");
    },
  );

  it("keeps serving on the other workers while one is replaced", async () => {
    const pool = await start({ size: 2 });
    await failure(run(pool, { op: "exit" }));
    expect(pool.stats().alive).toBe(1);
    expect((await run(pool, { op: "echo", value: "still here" })).value).toBe("still here");
    await vi.waitFor(() => expect(pool.stats().alive).toBe(2), { timeout: 5000 });
  });

  it("close lets running and queued calls finish, refuses new ones, then stops the workers", async () => {
    const pool = await start();
    const held = gate();
    const running = run(pool, { op: "hold", gate: held.gate, value: "running" });
    const queued = run(pool, { op: "echo", value: "queued" });
    let closed = false;
    const closing = pool.close().then(() => {
      closed = true;
    });
    expect(pool.close()).toBe(pool.close());
    expect((await failure(run(pool, { op: "echo" }))).message).toBe("test pool is closed");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false); // the held run cannot have finished: its gate is shut
    held.open();
    expect((await running).value).toBe("running");
    expect((await queued).value).toBe("queued");
    await closing;
    expect(pool.stats()).toMatchObject({ alive: 0, restarts: 0 });
  });

  it("close gives up waiting after its grace, so a run that never ends cannot hold a shutdown", async () => {
    const pool = await start({ closeGraceMs: 50 });
    const held = gate();
    const stuck = failure(run(pool, { op: "hold", gate: held.gate, value: "stuck" }));
    const queued = failure(run(pool, { op: "echo", value: "queued" }));
    try {
      await pool.close();
      expect((await queued).code).toBe("BACKEND_UNAVAILABLE");
      expect((await stuck).code).toBe("BACKEND_UNAVAILABLE");
    } finally {
      held.open();
    }
  });

  it("fails fast, naming the file, when the worker script does not exist", async () => {
    const missing = pathToFileURL(join(dir, "nowhere", "worker.js"));
    const err = await failure(start({ script: missing }));
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(err.message).toContain(join(dir, "nowhere", "worker.js"));
    expect(err.message).toMatch(/npm run build/);
  });

  it("reports a worker's load failure as its own error", async () => {
    const err = await failure(start({ size: 2, workerData: { failStart: true } }));
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(err.message).toBe("cannot load x.onnx");
  });

  it("refuses a worker built from another protocol version, saying to rebuild", async () => {
    const err = await failure(start({ workerData: { protocol: PROTOCOL_VERSION + 1 } }));
    expect(err.code).toBe("BACKEND_UNAVAILABLE");
    expect(err.message).toMatch(/fixture\.mjs is out of date .*run `npm run build`/);
  });

  it("fails, rather than hangs, when a worker exits without reporting", async () => {
    const err = await failure(start({ script: idle }));
    expect(err.message).toBe("test pool: a worker stopped before it was ready (exit code 0)");
  });
});
