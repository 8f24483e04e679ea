/**
 * Per-interval request statistics for one rollout arm: counts plus a log-bucket latency histogram,
 * so memory is a fixed ~8 KiB per arm however much traffic an interval sees.
 */

/** Upper bound of bucket 0; anything at or below it lands there. */
const MIN_MS = 0.01;
/** Each bucket's upper bound is this factor above the previous one: p99 is at most 2% high. */
const GROWTH = 1.02;
/** Buckets up to ~1e7 ms (about 2.8 hours); slower requests share the last bucket. */
export const LATENCY_BUCKETS = Math.ceil(Math.log(1e7 / MIN_MS) / Math.log(GROWTH)) + 1;

const LOG_GROWTH = Math.log(GROWTH);

/** The bucket a latency falls in; NaN and negatives count as 0 ms, Infinity as the slowest bucket. */
function bucketOf(latencyMs: number): number {
  if (!(latencyMs > MIN_MS)) return 0;
  const index = Math.ceil(Math.log(latencyMs / MIN_MS) / LOG_GROWTH);
  return Math.min(index, LATENCY_BUCKETS - 1);
}

/** A fixed-size latency histogram with geometric buckets. */
export class LatencyHistogram {
  readonly #counts = new Float64Array(LATENCY_BUCKETS);
  #total = 0;
  #max = 0;

  /** Number of buckets held; constant, whatever was recorded. */
  get size(): number {
    return this.#counts.length;
  }

  get count(): number {
    return this.#total;
  }

  add(latencyMs: number): void {
    const index = bucketOf(latencyMs);
    this.#counts[index] = (this.#counts[index] ?? 0) + 1;
    this.#total += 1;
    if (latencyMs > this.#max) this.#max = latencyMs;
  }

  /**
   * The nearest-rank quantile `q` (0-1), reported as its bucket's upper bound but never above the
   * largest latency seen; null when empty.
   */
  quantile(q: number): number | null {
    if (this.#total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.#total));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i += 1) {
      seen += this.#counts[i] ?? 0;
      // The last bucket is open-ended: its only honest bound is the largest latency seen.
      if (seen >= rank)
        return i === LATENCY_BUCKETS - 1 ? this.#max : Math.min(MIN_MS * GROWTH ** i, this.#max);
    }
    return this.#max;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#total = 0;
    this.#max = 0;
  }

  /** The non-empty buckets as flat `[index, count, index, count, ...]`, for sharing between replicas. */
  buckets(): number[] {
    const flat: number[] = [];
    for (let i = 0; i < this.#counts.length; i += 1) {
      const count = this.#counts[i] ?? 0;
      if (count > 0) flat.push(i, count);
    }
    return flat;
  }

  /** Adds another histogram's buckets (as from `buckets()`) and maximum; bad entries are skipped. */
  addBuckets(flat: readonly number[], max: number): void {
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const index = flat[i] ?? -1;
      const count = flat[i + 1] ?? 0;
      if (!Number.isInteger(index) || index < 0 || index >= LATENCY_BUCKETS) continue;
      if (!(count > 0) || !Number.isFinite(count)) continue;
      this.#counts[index] = (this.#counts[index] ?? 0) + count;
      this.#total += count;
    }
    if (Number.isFinite(max) && max > this.#max) this.#max = max;
  }

  get max(): number {
    return this.#max;
  }
}

/** One arm's interval stats as replicas exchange them (JSON through Redis). */
export interface ArmStatsData {
  requests: number;
  errors: number;
  /** Largest latency seen, ms. */
  max: number;
  /** Non-empty latency buckets, flat `[index, count, ...]`. */
  buckets: number[];
}

/** What an arm did in an interval, as shown in admin and logs. */
export interface RolloutArmStats {
  requests: number;
  errors: number;
  /** Null when the arm had no requests. */
  p99Ms: number | null;
}

/** Requests, server-side errors and latencies of one version over the current interval. */
export class ArmStats {
  readonly latency = new LatencyHistogram();
  #requests = 0;
  #errors = 0;

  get requests(): number {
    return this.#requests;
  }

  get errors(): number {
    return this.#errors;
  }

  /** Error share of the interval's requests; 0 when there were none. */
  get errorRate(): number {
    return this.#requests === 0 ? 0 : this.#errors / this.#requests;
  }

  record(ok: boolean, latencyMs: number): void {
    this.#requests += 1;
    if (!ok) this.#errors += 1;
    this.latency.add(latencyMs);
  }

  p99(): number | null {
    return this.latency.quantile(0.99);
  }

  summary(): RolloutArmStats {
    return { requests: this.#requests, errors: this.#errors, p99Ms: this.p99() };
  }

  reset(): void {
    this.#requests = 0;
    this.#errors = 0;
    this.latency.reset();
  }

  /** This interval's numbers in the form replicas exchange. */
  data(): ArmStatsData {
    return {
      requests: this.#requests,
      errors: this.#errors,
      max: this.latency.max,
      buckets: this.latency.buckets(),
    };
  }

  /** Adds another replica's numbers for the same interval. */
  add(data: ArmStatsData): void {
    if (Number.isFinite(data.requests) && data.requests > 0) this.#requests += data.requests;
    if (Number.isFinite(data.errors) && data.errors > 0) this.#errors += data.errors;
    this.latency.addBuckets(data.buckets, data.max);
  }
}
