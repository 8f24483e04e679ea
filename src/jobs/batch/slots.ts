/**
 * The bound on batch infer calls in flight per backend, shared by every batch of the process, so
 * several batches on one target together take no more than `inFlightPerTarget` of its capacity.
 */
import { OverloadedError } from "../../errors.js";
import { Permits } from "../permits.js";

/** At most this many distinct targets are tracked (a config has far fewer backends). */
const MAX_TARGETS = 1024;

/** Per-target permits. */
export class TargetSlots {
  readonly #size: number;
  readonly #permits = new Map<string, Permits>();

  constructor(size: number) {
    this.#size = size;
  }

  /** Runs `fn` holding one of the target's permits. */
  async run<T>(target: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    let permits = this.#permits.get(target);
    if (permits === undefined) {
      if (this.#permits.size >= MAX_TARGETS) this.#permits.clear();
      permits = new Permits(this.#size);
      this.#permits.set(target, permits);
    }
    if (!(await permits.acquire())) throw new OverloadedError("batch slots are closed");
    try {
      signal.throwIfAborted();
      return await fn();
    } finally {
      permits.release();
    }
  }
}
