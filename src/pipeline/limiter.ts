/**
 * Load shedding for one target: at most `maxInFlight` calls run at once, up to `maxQueue` more wait
 * in FIFO order, and anything beyond that is refused at once with OVERLOADED rather than piling up
 * (docs/api.md "Errors": "queue full or shedding load; carries Retry-After"). Refusing early keeps latency and
 * memory bounded under overload instead of letting every request time out late.
 *
 * Priority lanes (docs/async.md "Priority"): live calls, async jobs and batch records wait in
 * lines of their own, each bounded by `maxQueue`. A freed slot goes to the oldest live waiter,
 * else async, else batch; and lower lanes only ever hold `maxInFlight` minus a live reserve (a
 * quarter of the slots), so a burst of live traffic finds free slots instead of waiting for
 * background work to finish.
 *
 * Each waiting line is a doubly linked list: enqueue, dequeue and removal of a waiter whose client
 * gave up are all O(1), and a removed waiter holds no memory, so the limiter's footprint is
 * O(maxInFlight + maxQueue) per lane whatever the offered load.
 */
import { abortError } from "../abort.js";
import type { BackendResult, Priority } from "../backends/types.js";
import type { ConcurrencyConfig } from "../config/schema.js";
import { MAX_TIMER_MS } from "../config/schema.js";
import { BackendTimeoutError, OverloadedError } from "../errors.js";
import type { InferFn, Policy, TargetCall } from "./types.js";

/**
 * Retry-After of a shed request. A full queue drains in about (maxQueue / maxInFlight) backend
 * latencies, which for inference is milliseconds to a few hundred ms; we keep no latency estimate
 * (it would make the value depend on the clock and on noisy samples), and 1 s is the smallest
 * whole-second value the header can carry, so clients come back as soon as it can help.
 */
export const SHED_RETRY_AFTER_SECONDS = 1;

/** Options of a ConcurrencyLimiter. */
export interface LimiterOptions {
  /** maxInFlight: calls running at once; maxQueue: calls waiting for a slot (0 = no queue). */
  config: ConcurrencyConfig;
  /** Called once for every request refused with OVERLOADED (e.g. to count `infergate_shed_total`). */
  onShed?: () => void;
  /** Called with the new number of waiting requests each time it changes (`infergate_queue_depth`). */
  onQueueDepth?: (depth: number) => void;
}

/** A request waiting for a slot; a node of its lane's waiting line. */
interface Waiter {
  /** The line it waits in. */
  readonly line: Line;
  /** False once the waiter left the line, so a late abort or timer cannot unlink it twice. */
  linked: boolean;
  /** Starts the call on a slot the releaser handed over. */
  start: () => void;
  /** Drops the waiter's abort listener and deadline timer. */
  detach: () => void;
  prev: Waiter | undefined;
  next: Waiter | undefined;
}

/** One lane's waiting line. */
interface Line {
  head: Waiter | undefined;
  tail: Waiter | undefined;
  size: number;
}

const newLine = (): Line => ({ head: undefined, tail: undefined, size: 0 });

/** The lane of a call: live unless it says otherwise. */
function laneOf(priority: Priority | undefined): Priority {
  return priority ?? "live";
}

/** A per-target concurrency limit with a bounded FIFO queue. Keep one per target and reuse it. */
export class ConcurrencyLimiter {
  /** Limits the wrapped InferFn; every function it wraps shares this limiter's slots and queue. */
  readonly policy: Policy;
  readonly #maxInFlight: number;
  readonly #maxQueue: number;
  readonly #onShed: (() => void) | undefined;
  readonly #onQueueDepth: ((depth: number) => void) | undefined;
  /** Slots lower lanes may hold together: all but the live reserve. */
  readonly #lowMax: number;
  #inFlight = 0;
  /** Slots held by async and batch calls. */
  #lowInFlight = 0;
  #queued = 0;
  readonly #lines: Record<Priority, Line> = { live: newLine(), async: newLine(), batch: newLine() };

  constructor(options: LimiterOptions) {
    this.#maxInFlight = options.config.maxInFlight;
    this.#maxQueue = options.config.maxQueue;
    this.#onShed = options.onShed;
    this.#onQueueDepth = options.onQueueDepth;
    this.#lowMax = this.#maxInFlight - Math.floor(this.#maxInFlight / 4);
    this.policy = (next) => (request) => this.#admit(next, request);
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Calls waiting for a slot now. */
  get queued(): number {
    return this.#queued;
  }

  #admit(next: InferFn, request: TargetCall): Promise<BackendResult> {
    const { signal, deadline } = request.call;
    // A caller that already gave up must not take a slot or a queue place.
    if (signal.aborted) return Promise.reject(abortError(request.target.backend, signal));
    const lane = laneOf(request.call.priority);
    const low = lane !== "live";
    if (this.#inFlight < this.#maxInFlight && (!low || this.#lowRoom(lane))) {
      this.#inFlight++;
      if (low) this.#lowInFlight++;
      return this.#run(next, request, low);
    }
    const line = this.#lines[lane];
    if (line.size >= this.#maxQueue) {
      this.#onShed?.();
      return Promise.reject(
        new OverloadedError(
          `backend "${request.target.backend}" is overloaded: ${this.#maxInFlight} calls in flight and ${this.#maxQueue} queued`,
          SHED_RETRY_AFTER_SECONDS,
        ),
      );
    }
    if (deadline <= Date.now()) {
      return Promise.reject(new BackendTimeoutError("deadline passed while waiting for a slot"));
    }
    return this.#enqueue(next, request, line, low);
  }

  /**
   * May a call of a lower `lane` take a free slot now? Only within the lower lanes' share, and
   * never ahead of a waiter of a higher lane.
   */
  #lowRoom(lane: Priority): boolean {
    if (this.#lowInFlight >= this.#lowMax || this.#lines.live.size > 0) return false;
    return lane !== "batch" || this.#lines.async.size === 0;
  }

  /** Runs the call on a slot already counted in #inFlight and releases it exactly once. */
  async #run(next: InferFn, request: TargetCall, low: boolean): Promise<BackendResult> {
    try {
      return await next(request);
    } finally {
      this.#release(low);
    }
  }

  /**
   * Hands a freed slot straight to the oldest waiter of the highest lane that may take it, so a
   * newcomer cannot jump the queue.
   */
  #release(low: boolean): void {
    if (low) this.#lowInFlight--;
    let waiter = this.#lines.live.head;
    if (waiter === undefined && this.#lowInFlight < this.#lowMax) {
      waiter = this.#lines.async.head ?? this.#lines.batch.head;
      if (waiter !== undefined) this.#lowInFlight++;
    }
    if (waiter === undefined) {
      this.#inFlight--;
      return;
    }
    this.#unlink(waiter);
    waiter.start();
  }

  #enqueue(next: InferFn, request: TargetCall, line: Line, low: boolean): Promise<BackendResult> {
    return new Promise<BackendResult>((resolve, reject) => {
      const { signal, deadline } = request.call;
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        this.#unlink(waiter);
        reject(abortError(request.target.backend, signal));
      };
      // Re-armed when the deadline lies beyond the longest timer Node allows.
      const arm = () => {
        const remaining = deadline - Date.now();
        if (remaining > 0) {
          timer = setTimeout(arm, Math.min(remaining, MAX_TIMER_MS));
          return;
        }
        this.#unlink(waiter);
        reject(new BackendTimeoutError("deadline passed while waiting for a slot"));
      };
      const waiter: Waiter = {
        line,
        linked: true,
        start: () => {
          this.#run(next, request, low).then(resolve, reject);
        },
        detach: () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
        },
        prev: line.tail,
        next: undefined,
      };
      if (line.tail === undefined) line.head = waiter;
      else line.tail.next = waiter;
      line.tail = waiter;
      line.size++;
      this.#queued++;
      signal.addEventListener("abort", onAbort, { once: true });
      arm();
      this.#onQueueDepth?.(this.#queued);
    });
  }

  /** Takes a waiter out of the line, wherever it is, and drops its listener and timer. */
  #unlink(waiter: Waiter): void {
    if (!waiter.linked) return;
    waiter.linked = false;
    waiter.detach();
    const line = waiter.line;
    if (waiter.prev === undefined) line.head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) line.tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    line.size--;
    this.#queued--;
    this.#onQueueDepth?.(this.#queued);
  }
}
