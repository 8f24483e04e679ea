/**
 * A fixed-size pool of worker threads, each running one job at a time (worker-protocol.ts).
 *
 * Jobs wait in one shared FIFO on the main thread and go to whichever worker is idle, so a worker
 * stuck on a long run never holds up calls another worker could take (each worker has at most one
 * job, so an idle worker is always the least busy). The caller's deadline and abort signal apply
 * throughout: a waiting job is dropped from the queue, and a running one is answered
 * BACKEND_TIMEOUT at once while its worker finishes the run and its late answer is discarded.
 * A worker that dies fails its job with BACKEND_UNAVAILABLE and is restarted with back-off.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TransferListItem } from "node:worker_threads";
import { BackendError, BackendUnavailableError } from "../../errors.js";
import { checkDeadline, raceDeadline } from "./deadline.js";
import { type Pending, type SlotSettings, WorkerSlot } from "./worker-slot.js";

/** Waiting calls allowed per configured worker before new ones are refused as overloaded. */
export const DEFAULT_MAX_QUEUE_PER_WORKER = 1024;
/**
 * How long close() waits for runs to finish, and then for workers to stop: onnxruntime cannot
 * interrupt a run, and a run that never returns must not hold the gateway's shutdown forever.
 * Short, because by then the gateway has drained its requests (server.drainTimeoutMs): what still
 * runs was abandoned by its caller, and a shutdown must fit a supervisor's grace period.
 */
export const DEFAULT_CLOSE_GRACE_MS = 2000;
/** Restart back-off: the first delay after a worker dies, doubling per failure up to the max. */
export const DEFAULT_RESTART_DELAY_MS = { initial: 100, max: 10_000 } as const;

/** How to start and talk to the pool's workers. */
export interface WorkerPoolOptions<Init, Result> extends SlotSettings<Init, Result> {
  /** Number of worker threads, at least 1. */
  size: number;
  /** Calls that may wait per worker; the shared queue holds size times this. */
  maxQueuePerWorker?: number;
  restartDelayMs?: { initial: number; max: number };
  /** See DEFAULT_CLOSE_GRACE_MS. */
  closeGraceMs?: number;
}

/** A snapshot of the pool, for health, diagnostics and tests. */
export interface PoolStats {
  size: number;
  /** Workers that have loaded and can take jobs (idle or busy). */
  alive: number;
  busy: number;
  queued: number;
  /** Workers started to replace ones that died. */
  restarts: number;
  /** Why the last worker to die stopped. */
  lastExit?: string;
}

/** Worker threads running jobs one at a time each, fed from one bounded queue. */
export class WorkerPool<Init, Result> {
  private readonly slots: WorkerSlot<Init, Result>[];
  private readonly queue = new Map<number, Pending<Result>>();
  private readonly maxQueue: number;
  private readonly restartDelay: { initial: number; max: number };
  private nextId = 1;
  private cursor = 0;
  private started = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private restarts = 0;
  private lastExit: string | undefined;

  private constructor(private readonly options: WorkerPoolOptions<Init, Result>) {
    this.slots = Array.from({ length: options.size }, () => {
      const slot: WorkerSlot<Init, Result> = new WorkerSlot(options, {
        idle: () => {
          this.pump();
          this.checkDrained();
        },
        down: (reason) => this.down(slot, reason),
      });
      return slot;
    });
    this.maxQueue = options.size * (options.maxQueuePerWorker ?? DEFAULT_MAX_QUEUE_PER_WORKER);
    this.restartDelay = options.restartDelayMs ?? DEFAULT_RESTART_DELAY_MS;
  }

  /**
   * Starts every worker and waits until all have loaded. Resolves with the pool and the first
   * worker's `ready` payload; rejects (after stopping them all) with the first worker's failure,
   * or at once with a BackendUnavailableError when the script file does not exist.
   */
  static async start<Init, Result>(
    options: WorkerPoolOptions<Init, Result>,
  ): Promise<{ pool: WorkerPool<Init, Result>; init: Init }> {
    if (!Number.isSafeInteger(options.size) || options.size < 1) {
      throw new RangeError(`a worker pool needs at least 1 worker, got ${options.size}`);
    }
    const path = fileURLToPath(options.script);
    if (!existsSync(path)) {
      throw new BackendUnavailableError(
        `${options.label}: the worker script ${path} does not exist (run \`npm run build\`)`,
      );
    }
    const pool = new WorkerPool(options);
    try {
      const inits = await Promise.all(pool.slots.map((slot) => slot.start()));
      const init = inits[0];
      if (init === undefined) throw new BackendError(`${options.label}: no worker started`);
      pool.started = true;
      return { pool, init };
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  /**
   * Runs one job on the first idle worker (waiting in the queue while all are busy) and resolves
   * with its checked result. Rejects with BACKEND_TIMEOUT at the deadline or on abort, with
   * BACKEND_UNAVAILABLE when the pool is closed, has no live worker, is overloaded or loses the
   * worker mid-run, and with the worker's own error otherwise. `transfer` lists buffers of the
   * job to move rather than copy; the caller must not use them afterwards.
   */
  async run(
    job: unknown,
    transfer: TransferListItem[],
    deadline: number,
    signal: AbortSignal,
    where: string,
  ): Promise<Result> {
    const { label, size } = this.options;
    if (this.closed) throw new BackendUnavailableError(`${label} is closed`);
    if (this.stats().alive === 0) {
      const why = this.lastExit === undefined ? "" : ` (the last one stopped: ${this.lastExit})`;
      throw new BackendUnavailableError(`${label}: no worker is running${why}`, {
        retryAfterSeconds: 1,
      });
    }
    checkDeadline(deadline, signal, where);
    if (this.queue.size >= this.maxQueue) {
      throw new BackendUnavailableError(
        `${label} is overloaded: ${this.queue.size} calls already wait for its ${size} workers`,
        { retryAfterSeconds: 1 },
      );
    }
    const id = this.nextId++;
    const done = new Promise<Result>((resolve, reject) => {
      this.queue.set(id, { id, job, transfer, resolve, reject });
    });
    this.pump();
    try {
      return await raceDeadline(done, deadline, signal, where);
    } catch (err) {
      // Still waiting: nobody wants the answer any more, so it never takes a worker.
      if (this.queue.delete(id)) this.checkDrained();
      throw err;
    }
  }

  /** A snapshot of the workers and the queue. */
  stats(): PoolStats {
    const count = (...states: WorkerSlot<Init, Result>["state"][]): number =>
      this.slots.filter((s) => states.includes(s.state)).length;
    return {
      size: this.options.size,
      alive: count("idle", "busy"),
      busy: count("busy"),
      queued: this.queue.size,
      restarts: this.restarts,
      ...(this.lastExit === undefined ? {} : { lastExit: this.lastExit }),
    };
  }

  /**
   * Refuses new jobs, lets the queued and running ones finish (a started run always completes,
   * even when its caller has stopped waiting), then terminates every worker. Calling it again
   * returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    const grace = this.options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
    const drained = new Promise<void>((resolve) => {
      this.drained = resolve;
      this.checkDrained();
    });
    await within(drained, grace);
    this.drained = undefined;
    // Past the grace: calls still waiting get an answer now rather than never.
    for (const pending of this.queue.values()) {
      pending.reject(new BackendUnavailableError(`${this.options.label} is closed`));
    }
    this.queue.clear();
    await within(Promise.all(this.slots.map((slot) => slot.stop())), grace);
  }

  private checkDrained(): void {
    if (this.drained === undefined || this.queue.size > 0) return;
    if (this.slots.some((s) => s.state === "busy")) return;
    this.drained();
    this.drained = undefined;
  }

  /** A worker has gone: restart it later unless closing; with none left, fail the queue. */
  private down(slot: WorkerSlot<Init, Result>, reason: string): void {
    this.lastExit = reason;
    if (this.started && !this.closed) {
      const { initial, max } = this.restartDelay;
      const delay = Math.min(initial * 2 ** Math.min(slot.failures - 1, 30), max);
      slot.restartAfter(delay, () => {
        if (this.closed) return false;
        this.restarts++;
        return true;
      });
    }
    if (this.stats().alive === 0) {
      // Nothing can take the waiting calls before a restart; failing them now lets the gateway's
      // retry and fallback act instead of every call waiting out its deadline.
      const { label } = this.options;
      for (const pending of this.queue.values()) {
        pending.reject(new BackendUnavailableError(`${label}: no worker is running (${reason})`));
      }
      this.queue.clear();
    }
    this.checkDrained();
  }

  private pump(): void {
    for (const [id, pending] of this.queue) {
      const slot = this.idleSlot();
      if (slot === undefined) return;
      this.queue.delete(id);
      slot.run(pending);
    }
  }

  /** The next idle worker, round-robin so the load (and warm caches) spread over all of them. */
  private idleSlot(): WorkerSlot<Init, Result> | undefined {
    for (let i = 0; i < this.slots.length; i++) {
      const index = (this.cursor + i) % this.slots.length;
      const slot = this.slots[index];
      if (slot?.state === "idle") {
        this.cursor = index + 1;
        return slot;
      }
    }
    return undefined;
  }
}

/** Waits for `work`, but at most `ms`; never rejects. */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    timeout,
  ]);
  clearTimeout(timer);
}
