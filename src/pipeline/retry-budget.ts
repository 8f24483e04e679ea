/**
 * A retry budget in the manner of Finagle's RetryBudget and Envoy's retry_budget: retries are paid
 * for by recent original requests, so a failing backend sees at most
 * `(1 + budgetPercent/100) × requests + minRetriesPerSecond` calls per second instead of the
 * `(1 + attempts) ×` a bare retry loop would send (the retry storm of the SRE book, ch. 22).
 */

/** Budget knobs, as in the `retry` block of the config. */
export interface RetryBudgetConfig {
  /** Each original request deposits this percent of one retry. */
  budgetPercent: number;
  /** Retries allowed every second even with no deposits, so a quiet target can still retry. */
  minRetriesPerSecond: number;
}

/** Test seams and tuning. */
export interface RetryBudgetOptions {
  /** How long a deposit (and a withdrawal) counts. Default 10 s. */
  windowMs?: number;
  /** A monotonic millisecond clock. Default `performance.now`. */
  now?: () => number;
}

/** The window is kept as this many time buckets, so memory does not grow with traffic. */
const BUCKETS = 10;
const SECOND_MS = 1000;

/**
 * Tokens for retries. Deposits and withdrawals land in the bucket of the current time slice and
 * are forgotten when the bucket leaves the window, so the budget follows recent traffic and a
 * withdrawal's debt expires together with the deposits of its time. The floor is a separate
 * allowance per clock second that does not accumulate, so it cannot burst.
 */
export class RetryBudget {
  private readonly percent: number;
  private readonly floorPerSecond: number;
  private readonly bucketMs: number;
  private readonly now: () => number;
  /** The absolute bucket number each ring slot currently holds. */
  private readonly slots = new Array<number>(BUCKETS).fill(Number.NEGATIVE_INFINITY);
  private readonly deposits = new Array<number>(BUCKETS).fill(0);
  private readonly withdrawals = new Array<number>(BUCKETS).fill(0);
  private floorSecond = Number.NEGATIVE_INFINITY;
  private floorUsed = 0;

  constructor(config: RetryBudgetConfig, options: RetryBudgetOptions = {}) {
    const windowMs = options.windowMs ?? 10_000;
    requireFinite("budgetPercent", config.budgetPercent, 0);
    requireFinite("minRetriesPerSecond", config.minRetriesPerSecond, 0);
    requireFinite("windowMs", windowMs, 1);
    this.percent = config.budgetPercent;
    this.floorPerSecond = config.minRetriesPerSecond;
    this.bucketMs = windowMs / BUCKETS;
    this.now = options.now ?? (() => performance.now());
  }

  /** Call once per original request (not per retry). */
  deposit(): void {
    this.deposits[this.currentSlot()]! += 1;
  }

  /** True (and one retry spent) when a retry is allowed now. */
  tryWithdraw(): boolean {
    const time = this.now();
    const slot = this.currentSlot(time);
    let deposited = 0;
    let withdrawn = 0;
    const current = this.slots[slot]!;
    for (let i = 0; i < BUCKETS; i++) {
      const bucket = this.slots[i]!;
      if (bucket > current - BUCKETS && bucket <= current) {
        deposited += this.deposits[i]!;
        withdrawn += this.withdrawals[i]!;
      }
    }
    // Compared in whole-number percent units: 0.29 × 100 is 28.999… in floating point.
    if ((withdrawn + 1) * 100 <= deposited * this.percent) {
      this.withdrawals[slot]! += 1;
      return true;
    }
    return this.tryFloor(time);
  }

  private tryFloor(time: number): boolean {
    const second = Math.floor(time / SECOND_MS);
    if (second !== this.floorSecond) {
      this.floorSecond = second;
      this.floorUsed = 0;
    }
    // A fractional floor (0.5/s) gives whole retries in some seconds and none in others, never
    // more than `minRetriesPerSecond × seconds` in total over whole seconds.
    const f = this.floorPerSecond;
    const quota = Math.floor(f * (second + 1)) - Math.floor(f * second);
    if (this.floorUsed >= quota) return false;
    this.floorUsed += 1;
    return true;
  }

  /** The ring index of the current bucket, cleared first when it held an older bucket. */
  private currentSlot(time = this.now()): number {
    const bucket = Math.floor(time / this.bucketMs);
    const slot = ((bucket % BUCKETS) + BUCKETS) % BUCKETS;
    if (this.slots[slot] !== bucket) {
      this.slots[slot] = bucket;
      this.deposits[slot] = 0;
      this.withdrawals[slot] = 0;
    }
    return slot;
  }
}

function requireFinite(name: string, value: number, min: number): void {
  if (!Number.isFinite(value) || value < min) {
    throw new RangeError(`RetryBudget: ${name} must be a finite number >= ${min}, got ${value}`);
  }
}
