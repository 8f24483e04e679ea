/**
 * Dynamic batching for one target (docs/resilience.md "Batching"): requests with the same signature (batch-signature.ts)
 * are concatenated along dimension 0 into one backend call and the answer is split back to them by
 * rows, in order. Like Triton's dynamic batcher, a batch leaves as soon as it holds maxBatchSize
 * rows, else maxDelayMs after its first request arrived, so batching adds at most maxDelayMs.
 *
 * Hot path: admission, abort and leaving are O(1) per request apart from the tensor copies; there
 * is one timer per open batch, never one per request. A member's deadline is watched by that same
 * timer (it wakes at the earliest member deadline when that comes before the flush), so an expired
 * request leaves the queue on time and is never sent.
 *
 * Priority lanes (docs/async.md "Priority"): async and batch-job requests share batches with live
 * ones (they fill rows live traffic leaves empty), but each lane has its own `maxQueue`, so
 * background work never makes a live request shed, and a batch goes to the limiter in the lane
 * of its most urgent member.
 */
import { abortError } from "../abort.js";
import type { BackendResult, Priority } from "../backends/types.js";
import type { BatchingConfig } from "../config/schema.js";
import { BackendTimeoutError, OverloadedError } from "../errors.js";
import { type SetTimer, unrefTimer } from "../timer.js";
import { invoke, type Member, type OpenBatch, sendBatch } from "./batch-send.js";
import { batchShape } from "./batch-signature.js";
import { armBatch, expireMembers, queuedTimeout } from "./batch-timer.js";
import { SHED_RETRY_AFTER_SECONDS } from "./limiter.js";
import type { InferFn, Policy, TargetCall } from "./types.js";

/** Options of a Batcher. */
export interface BatcherOptions {
  /** maxBatchSize: rows (sum of dimension 0) per call; maxDelayMs: longest wait of a batch's first
   * request; maxQueue: requests waiting, all signatures together. */
  config: BatchingConfig;
  /** Called with the rows of every backend call made for a batchable request (`infergate_batch_size`). */
  onBatch?: (rows: number) => void;
  /** Called with the new number of waiting requests each time it changes. */
  onQueueDepth?: (depth: number) => void;
  /** Called once per sent request with the ms it waited in the queue. */
  onQueueWait?: (ms: number) => void;
  /** Monotonic ms clock for the flush time and queue waits; default `performance.now`. */
  now?: () => number;
  /** Starts a timer; default an unref'd setTimeout, so a waiting batch never keeps the process up. */
  setTimer?: SetTimer;
}

const noop = (): void => {};

/** A target's dynamic batcher. Keep one per target; every function its policy wraps batches apart. */
export class Batcher {
  /** Batches calls to the wrapped InferFn. */
  readonly policy: Policy;
  readonly #maxBatchSize: number;
  readonly #maxDelayMs: number;
  readonly #maxQueue: number;
  readonly #onBatch: ((rows: number) => void) | undefined;
  readonly #onQueueDepth: ((depth: number) => void) | undefined;
  readonly #onQueueWait: ((ms: number) => void) | undefined;
  readonly #now: () => number;
  readonly #setTimer: SetTimer;
  readonly #open = new Set<OpenBatch>();
  #queued = 0;
  /** Waiting requests per lane; each lane is bounded by maxQueue on its own. */
  readonly #lanes: Record<Priority, number> = { live: 0, async: 0, batch: 0 };
  #closed = false;

  constructor(options: BatcherOptions) {
    this.#maxBatchSize = options.config.maxBatchSize;
    this.#maxDelayMs = options.config.maxDelayMs;
    this.#maxQueue = options.config.maxQueue;
    this.#onBatch = options.onBatch;
    this.#onQueueDepth = options.onQueueDepth;
    this.#onQueueWait = options.onQueueWait;
    this.#now = options.now ?? (() => performance.now());
    this.#setTimer = options.setTimer ?? unrefTimer;
    this.policy = (next) => {
      const group = new Map<string, OpenBatch>();
      return (request) => this.#admit(next, group, request);
    };
  }

  /** Requests waiting in open batches now. */
  get queued(): number {
    return this.#queued;
  }

  /** Sends every open batch now and passes later requests straight through; no timer is left. */
  close(): void {
    this.#closed = true;
    for (const batch of [...this.#open]) this.#dispatch(batch);
  }

  #admit(
    next: InferFn,
    group: Map<string, OpenBatch>,
    request: TargetCall,
  ): Promise<BackendResult> {
    const { target, call } = request;
    const shape = this.#closed ? undefined : batchShape(target, call);
    if (shape === undefined) return invoke(next, request);
    if (call.signal.aborted) return Promise.reject(abortError(target.backend, call.signal));
    if (call.deadline <= Date.now()) {
      return Promise.reject(
        new BackendTimeoutError("deadline passed before the request was batched"),
      );
    }
    // A request that fills a batch by itself gains nothing from waiting: it goes alone at once.
    if (shape.rows >= this.#maxBatchSize) {
      this.#onBatch?.(shape.rows);
      return invoke(next, request);
    }
    let batch = group.get(shape.key);
    if (batch !== undefined && batch.rows + shape.rows > this.#maxBatchSize) {
      this.#dispatch(batch);
      batch = undefined;
    }
    const fills = batch !== undefined && batch.rows + shape.rows === this.#maxBatchSize;
    // Only a request that would wait takes a queue place; one that completes a batch leaves at once.
    if (!fills && this.#lanes[call.priority ?? "live"] >= this.#maxQueue) {
      return Promise.reject(
        new OverloadedError(
          `backend "${target.backend}" is overloaded: ${this.#maxQueue} requests waiting to be batched`,
          SHED_RETRY_AFTER_SECONDS,
        ),
      );
    }
    const member: Member = {
      request,
      inputs: shape.inputs,
      rows: shape.rows,
      arrivedAt: this.#now(),
      state: "queued",
      batch: undefined,
      flight: undefined,
      resolve: noop,
      reject: noop,
      onAbort: () => this.#aborted(member),
    };
    const promise = new Promise<BackendResult>((resolve, reject) => {
      member.resolve = resolve;
      member.reject = reject;
    });
    call.signal.addEventListener("abort", member.onAbort, { once: true });
    this.#join(next, group, shape.key, batch, member);
    return promise;
  }

  #join(
    next: InferFn,
    group: Map<string, OpenBatch>,
    key: string,
    existing: OpenBatch | undefined,
    member: Member,
  ): void {
    const deadline = member.request.call.deadline;
    const batch = existing ?? {
      key,
      next,
      group,
      members: [],
      rows: 0,
      live: 0,
      flushAt: member.arrivedAt + this.#maxDelayMs,
      earliestDeadline: deadline,
      timer: undefined,
      open: true,
    };
    batch.members.push(member);
    batch.rows += member.rows;
    batch.live++;
    member.batch = batch;
    this.#queued++;
    this.#lanes[member.request.call.priority ?? "live"]++;
    this.#onQueueDepth?.(this.#queued);
    if (existing === undefined) {
      group.set(key, batch);
      this.#open.add(batch);
    }
    if (batch.rows >= this.#maxBatchSize) {
      this.#dispatch(batch);
    } else if (existing === undefined) {
      this.#arm(batch, this.#maxDelayMs, 0);
    } else if (deadline < batch.earliestDeadline) {
      batch.earliestDeadline = deadline;
      this.#arm(batch, batch.flushAt - this.#now(), 0);
    }
  }

  /** Sets the batch's one timer (batch-timer.ts). */
  #arm(batch: OpenBatch, flushIn: number, minExpiry: number): void {
    armBatch(
      batch,
      flushIn,
      minExpiry,
      this.#setTimer,
      () => this.#dispatch(batch),
      () => this.#expire(batch),
    );
  }

  /** Times out the queued members whose deadline passed and re-arms for the rest. */
  #expire(batch: OpenBatch): void {
    batch.timer = undefined;
    if (!batch.open) return;
    const { earliest, expired } = expireMembers(batch, (m) => this.#leave(m, queuedTimeout()));
    if (!batch.open) return;
    batch.earliestDeadline = earliest;
    this.#arm(batch, batch.flushAt - this.#now(), expired ? 0 : 1);
  }

  #aborted(member: Member): void {
    const reason = abortError(member.request.target.backend, member.request.call.signal);
    if (member.state === "queued") {
      this.#leave(member, reason);
      return;
    }
    const flight = member.flight;
    if (member.state !== "sent" || flight === undefined) return;
    this.#settle(member, undefined, reason);
    flight.live--;
    if (flight.live === 0) flight.controller.abort(member.request.call.signal.reason);
  }

  /** Takes one queued member out of its batch with an error. */
  #leave(member: Member, err: unknown): void {
    const batch = member.batch;
    if (batch === undefined) return;
    member.batch = undefined;
    batch.rows -= member.rows;
    batch.live--;
    this.#queued--;
    this.#lanes[member.request.call.priority ?? "live"]--;
    this.#onQueueDepth?.(this.#queued);
    this.#settle(member, undefined, err);
    if (batch.live === 0) {
      this.#shut(batch);
    } else if (batch.members.length > 2 * this.#maxBatchSize) {
      // Members that left are dropped now and then, so joins and aborts cannot grow the array.
      batch.members = batch.members.filter((m) => m.state === "queued");
    }
  }

  /** Stops a batch taking requests: its timer, its group entry and the open set. */
  #shut(batch: OpenBatch): void {
    batch.open = false;
    batch.timer?.clear();
    batch.timer = undefined;
    if (batch.group.get(batch.key) === batch) batch.group.delete(batch.key);
    this.#open.delete(batch);
  }

  /** Sends a batch: its members still queued and within their deadlines, in arrival order. */
  #dispatch(batch: OpenBatch): void {
    if (!batch.open) return;
    this.#shut(batch);
    const now = Date.now();
    const sent: Member[] = [];
    for (const member of batch.members) {
      if (member.state !== "queued") continue;
      member.batch = undefined;
      this.#lanes[member.request.call.priority ?? "live"]--;
      if (member.request.call.deadline <= now) this.#settle(member, undefined, queuedTimeout());
      else sent.push(member);
    }
    this.#queued -= batch.live;
    batch.live = 0;
    batch.rows = 0;
    this.#onQueueDepth?.(this.#queued);
    const first = sent[0];
    if (first === undefined) return;
    const at = this.#now();
    let rows = 0;
    for (const member of sent) {
      member.state = "sent";
      rows += member.rows;
      this.#onQueueWait?.(at - member.arrivedAt);
    }
    this.#onBatch?.(rows);
    if (sent.length === 1) {
      // Alone: its own call, signal and deadline; nothing to concatenate or split.
      first.request.call.signal.removeEventListener("abort", first.onAbort);
      invoke(batch.next, first.request).then(
        (result) => this.#settle(first, result, undefined),
        (err: unknown) => this.#settle(first, undefined, err),
      );
      return;
    }
    sendBatch(batch.next, sent, (m, r, e) => this.#settle(m, r, e));
  }

  /** Settles a member once and drops its abort listener. */
  #settle(member: Member, result: BackendResult | undefined, err: unknown): void {
    if (member.state === "done") return;
    member.state = "done";
    member.flight = undefined;
    member.request.call.signal.removeEventListener("abort", member.onAbort);
    if (result !== undefined) member.resolve(result);
    else member.reject(err);
  }
}
