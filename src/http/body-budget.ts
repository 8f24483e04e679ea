/**
 * One budget of buffered request-body bytes over every request of the gateway
 * (`server.limits.maxBufferedBodyBytes`, see docs/security.md "Timeouts and caps"). Bytes are
 * taken as they arrive and given back when the request ends, so many slow or stalled uploads can
 * hold at most the budget, and a request that would pass it gets 503 OVERLOADED instead.
 *
 * The first {@link UNCOUNTED_BODY_BYTES} of each body are not counted: uploads that fill the
 * budget must not starve ordinary small predictions, and those bytes are bounded anyway by
 * `maxConnections` (one request at a time per HTTP/1.1 connection).
 *
 * When a burst of large bodies has passed (the bytes held fall to a quarter of a peak of at
 * least {@link RELIEF_PEAK_BYTES}), one full garbage collection is run a second later, at most
 * every {@link RELIEF_EVERY_MS}, so their memory goes back to the system instead of waiting for
 * V8's next full collection.
 */
import { OverloadedError } from "../errors.js";
import { fullGc } from "./gc.js";

/** Seconds a client refused for the budget is asked to wait (bodies in flight end within it). */
const RETRY_AFTER_SECONDS = 1;

/** Bytes of each request's body that the budget does not count. */
export const UNCOUNTED_BODY_BYTES = 64 * 1024;

/** A burst this large (bytes held at once) is worth a collection once it has passed. */
export const RELIEF_PEAK_BYTES = 32 * 1024 * 1024;
/** At most one relief collection this often. */
export const RELIEF_EVERY_MS = 10_000;

/** The shared count of buffered request-body bytes. */
export class BodyBudget {
  private used = 0;
  private peak = 0;
  private lastRelief = Number.NEGATIVE_INFINITY;
  private reliefTimer: NodeJS.Timeout | undefined;

  /**
   * @param max the current limit (a getter: a reload may change it).
   * @param relieve runs the relief collection (default V8's full GC; tests count calls).
   */
  constructor(
    private readonly max: () => number,
    private readonly relieve: (() => void) | undefined = fullGc(),
  ) {}

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
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }

  /** Gives back bytes taken earlier. */
  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    if (this.peak >= RELIEF_PEAK_BYTES && this.used <= this.peak / 4) this.scheduleRelief();
  }

  private scheduleRelief(): void {
    if (this.relieve === undefined || this.reliefTimer !== undefined) return;
    const wait = Math.max(1000, this.lastRelief + RELIEF_EVERY_MS - Date.now());
    this.reliefTimer = setTimeout(() => {
      this.reliefTimer = undefined;
      this.lastRelief = Date.now();
      this.peak = this.used;
      this.relieve?.();
    }, wait);
    this.reliefTimer.unref();
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
