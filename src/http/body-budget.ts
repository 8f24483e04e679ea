/**
 * One budget of buffered request-body bytes over every request of the gateway
 * (`server.limits.maxBufferedBodyBytes`, see docs/security.md "Timeouts and caps"). Bytes are
 * taken as they arrive and given back when the request ends, so many slow or stalled uploads can
 * hold at most the budget, and a request that would pass it gets 503 OVERLOADED instead.
 *
 * The first {@link UNCOUNTED_BODY_BYTES} of each body are not counted: uploads that fill the
 * budget must not starve ordinary small predictions, and those bytes are bounded anyway by
 * `maxConnections` (one request at a time per HTTP/1.1 connection).
 */
import { OverloadedError } from "../errors.js";

/** Seconds a client refused for the budget is asked to wait (bodies in flight end within it). */
const RETRY_AFTER_SECONDS = 1;

/** Bytes of each request's body that the budget does not count. */
export const UNCOUNTED_BODY_BYTES = 64 * 1024;

/** The shared count of buffered request-body bytes. */
export class BodyBudget {
  private used = 0;

  /** @param max the current limit (a getter: a reload may change it). */
  constructor(private readonly max: () => number) {}

  /** Bytes held now. */
  get held(): number {
    return this.used;
  }

  /** A new per-request account against this budget. */
  lease(): BodyLease {
    return new BodyLease(this);
  }

  /** Takes `bytes` when they fit; false (and nothing taken) when they do not. */
  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.max()) return false;
    this.used += bytes;
    return true;
  }

  /** Gives back bytes taken earlier. */
  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/** One request's share of a {@link BodyBudget}; `release()` is safe to call more than once. */
export class BodyLease {
  private received = 0;
  private taken = 0;

  constructor(private readonly budget: BodyBudget) {}

  /** Accounts `bytes` more received; throws OverloadedError (503) when the budget is spent. */
  take(bytes: number): void {
    const received = this.received + bytes;
    const due = Math.max(0, received - UNCOUNTED_BODY_BYTES) - this.taken;
    if (due > 0 && !this.budget.tryTake(due)) {
      throw new OverloadedError(
        "too many request bytes in flight across the gateway; retry later",
        RETRY_AFTER_SECONDS,
      );
    }
    this.received = received;
    this.taken += Math.max(0, due);
  }

  /** Gives back everything this request took. */
  release(): void {
    this.budget.give(this.taken);
    this.taken = 0;
  }
}
