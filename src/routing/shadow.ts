/**
 * Shadow traffic: a sampled copy of a request is run against another version in the background and
 * its answer compared with the primary's. The client never waits for it and is never touched by
 * it: `submit` returns at once, the copy starts on a later turn of the event loop, and every
 * failure (the shadow's, the comparison's, even the metrics') stays in here. Work is bounded: at
 * most `maxInFlight` copies run and `maxQueue` wait; beyond that copies are dropped and counted.
 */
import type { Metrics } from "../metrics/registry.js";
import type { NamedTensor } from "../tensor/index.js";
import { compareOutputs, type ShadowComparison } from "./shadow-compare.js";

/** Shadow calls running at once unless configured otherwise. */
export const DEFAULT_SHADOW_MAX_IN_FLIGHT = 64;
/** Shadow copies waiting for a slot unless configured otherwise. */
export const DEFAULT_SHADOW_MAX_QUEUE = 256;
/** A shadow call still running after this long counts as an error and is aborted. */
export const DEFAULT_SHADOW_TIMEOUT_MS = 30_000;

/** Metric labels of one primary/shadow pair. */
export interface ShadowLabels {
  model: string;
  primary: string;
  shadow: string;
}

/** Options of a ShadowRunner. */
export interface ShadowOptions {
  /** Shadow calls running at once (DEFAULT_SHADOW_MAX_IN_FLIGHT). */
  maxInFlight: number;
  /** Copies waiting for a running slot; beyond this they are dropped and counted (DEFAULT_SHADOW_MAX_QUEUE). */
  maxQueue: number;
  /** shadowMaxAbsDiff, shadowArgmax, shadowErrors, shadowDropped and shadowLatencyDiff are recorded here. */
  metrics: Metrics;
  /** Uniform in [0, 1), for percent sampling (Math.random). */
  random?: () => number;
  /** A shadow call running longer counts as an error, its signal is aborted and its slot freed (DEFAULT_SHADOW_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Milliseconds clock for the shadow's latency (performance.now). */
  now?: () => number;
  /** Told why a shadow copy failed (for a debug log); its own exceptions are ignored. */
  onError?: (error: unknown, labels: ShadowLabels) => void;
}

/** The primary's answer a shadow is compared with. */
export interface PrimaryAnswer {
  outputs: readonly NamedTensor[];
  /** The primary call's latency, ms. */
  latencyMs: number;
}

/**
 * The shadow version's inference. `signal` aborts when the copy times out or the runner closes
 * past its timeout; a function that ignores it is fine (the slot is freed either way).
 */
export type ShadowCall = (signal: AbortSignal) => Promise<{ outputs: readonly NamedTensor[] }>;

interface Job {
  labels: ShadowLabels;
  primary: PrimaryAnswer;
  run: ShadowCall;
}

type Outcome =
  | { ok: true; outputs: readonly NamedTensor[]; ms: number }
  | { ok: false; error: unknown };

/** Runs, bounds and scores shadow copies of requests. */
export class ShadowRunner {
  private readonly waiting: Job[] = [];
  private readonly running = new Set<AbortController>();
  private scheduled: NodeJS.Immediate | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private onIdle: (() => void) | undefined;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly timeoutMs: number;

  constructor(private readonly options: ShadowOptions) {
    // Checked here, at startup, because a runner with no slot would queue copies forever.
    if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be a positive integer, not ${options.maxInFlight}`);
    }
    if (!Number.isInteger(options.maxQueue) || options.maxQueue < 0) {
      throw new RangeError(`maxQueue must be a non-negative integer, not ${options.maxQueue}`);
    }
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SHADOW_TIMEOUT_MS;
  }

  /** Copies running now. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Copies waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Whether this request is copied (percent sampling, 0–100: 0 never, 100 always). */
  sample(percent: number): boolean {
    if (!(percent > 0)) return false;
    if (percent >= 100) return true;
    try {
      return this.random() * 100 < percent;
    } catch {
      return false;
    }
  }

  /**
   * Runs `run()` (the shadow version's inference) in the background, never awaited by the caller:
   * compares its outputs with `primary` (the primary's outputs, by name) and records the metrics;
   * failures/timeouts only count as shadow errors; bounded (queue full -> dropped + counted).
   */
  submit(labels: ShadowLabels, primary: PrimaryAnswer, run: ShadowCall): void {
    try {
      // Exactly the three label names: prom-client throws on any other key.
      const own = { model: labels.model, primary: labels.primary, shadow: labels.shadow };
      const capacity = this.options.maxInFlight + this.options.maxQueue;
      // After close() a copy is as lost as one refused for room, so it counts the same way.
      if (this.closed || this.running.size + this.waiting.length >= capacity) {
        this.dropped(own);
        return;
      }
      this.waiting.push({ labels: own, primary, run });
      // Not started here: even the shadow's synchronous setup (encoding its request) must not run
      // before the primary's answer is on its way to the client.
      this.scheduled ??= setImmediate(() => {
        this.scheduled = undefined;
        this.pump();
      });
    } catch {
      // The client's request must never see the shadow; nothing to do but not count it.
    }
  }

  /**
   * Stops taking work: waiting copies are dropped (counted), running ones are awaited; after
   * `timeoutMs` the rest are aborted and the promise resolves anyway. Idempotent.
   */
  close(timeoutMs: number): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.closed = true;
      if (this.scheduled !== undefined) clearImmediate(this.scheduled);
      this.scheduled = undefined;
      for (const job of this.waiting.splice(0)) this.dropped(job.labels);
      if (this.running.size === 0) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        for (const controller of this.running) controller.abort(new Error("shadow runner closed"));
        this.onIdle = undefined;
        resolve();
      }, timeoutMs);
      this.onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    return this.closing;
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.options.maxInFlight) {
      const job = this.waiting.shift();
      if (job === undefined) return;
      const controller = new AbortController();
      this.running.add(controller);
      this.execute(job, controller)
        .then((outcome) => this.finish(job, controller, outcome))
        .catch(() => {
          // finish() catches everything itself; this only keeps a rejection from ever escaping.
        });
    }
  }

  /** The shadow call, raced against its timeout; never rejects. */
  private async execute(job: Job, controller: AbortController): Promise<Outcome> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => {
        resolve({ ok: false, error: new Error(`shadow timed out after ${this.timeoutMs} ms`) });
      }, this.timeoutMs);
      timer.unref();
    });
    const call = async (): Promise<Outcome> => {
      try {
        const started = this.now();
        const answer: { outputs?: unknown } | undefined = await job.run(controller.signal);
        const ms = this.now() - started;
        if (!Array.isArray(answer?.outputs)) throw new Error("the shadow answered no outputs");
        return { ok: true, outputs: answer.outputs, ms };
      } catch (error) {
        return { ok: false, error };
      }
    };
    const outcome = await Promise.race([call(), timedOut]);
    clearTimeout(timer);
    if (!outcome.ok) controller.abort(outcome.error);
    return outcome;
  }

  private finish(job: Job, controller: AbortController, outcome: Outcome): void {
    this.running.delete(controller);
    try {
      this.record(job, outcome);
    } catch {
      // A metric refusing a value must not take the runner down with it.
    }
    if (this.closed) {
      if (this.running.size === 0) this.onIdle?.();
      return;
    }
    this.pump();
  }

  private record(job: Job, outcome: Outcome): void {
    const { metrics } = this.options;
    const labels = job.labels;
    if (!outcome.ok) {
      this.failed(labels, outcome.error);
      return;
    }
    let comparison: ShadowComparison;
    try {
      comparison = compareOutputs(job.primary.outputs, outcome.outputs);
    } catch (error) {
      // Malformed tensors (not from a real backend adapter) are the shadow's failure too.
      this.failed(labels, error);
      return;
    }
    if (!comparison.ok) {
      this.failed(labels, new Error(comparison.reason));
      return;
    }
    if (comparison.maxAbsDiff !== undefined) {
      metrics.shadowMaxAbsDiff.observe(labels, comparison.maxAbsDiff);
    }
    if (comparison.agree > 0)
      metrics.shadowArgmax.inc({ ...labels, agree: "true" }, comparison.agree);
    if (comparison.disagree > 0) {
      metrics.shadowArgmax.inc({ ...labels, agree: "false" }, comparison.disagree);
    }
    const diffSeconds = (outcome.ms - job.primary.latencyMs) / 1000;
    if (Number.isFinite(diffSeconds)) metrics.shadowLatencyDiff.observe(labels, diffSeconds);
  }

  private failed(labels: ShadowLabels, error: unknown): void {
    try {
      this.options.metrics.shadowErrors.inc(labels);
      this.options.onError?.(error, labels);
    } catch {
      // Counting or logging a failure must not fail in turn.
    }
  }

  private dropped(labels: ShadowLabels): void {
    try {
      this.options.metrics.shadowDropped.inc({ model: labels.model, shadow: labels.shadow });
    } catch {
      // As above: the drop stays invisible rather than reaching the caller.
    }
  }
}
