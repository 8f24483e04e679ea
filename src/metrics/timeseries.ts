/**
 * The gateway's own short history for the admin page (`GET /admin/timeseries`): every second it
 * reads the request counter and latency histogram of the registry and keeps, per model, a bounded
 * ring of the last minutes (request rate, p50 / p99 latency, error rate), so the page charts live
 * traffic without a Prometheus server. It also sums the shadow comparisons per model.
 */
import type { Metrics } from "./registry.js";

/** One sampled second of one model. Latencies are null in a second without requests. */
export interface TimePoint {
  /** Unix seconds at the end of the interval. */
  t: number;
  /** Requests per second. */
  rate: number;
  /** Share (0-1) of the requests answered with an error code. */
  errorRate: number;
  p50: number | null;
  p99: number | null;
}

/** A model's points as columns (what uPlot takes), oldest first. */
export interface ModelSeries {
  t: number[];
  rate: number[];
  errorRate: number[];
  /** Seconds. */
  p50: (number | null)[];
  p99: (number | null)[];
}

/** Shadow comparisons of a model against one shadow version since the gateway started. */
export interface ShadowAgreement {
  model: string;
  primary: string;
  shadow: string;
  agree: number;
  disagree: number;
  errors: number;
}

/** Options of {@link TimeSeries}. */
export interface TimeSeriesOptions {
  /** Points kept per model (default 600: ten minutes of seconds). */
  capacity?: number;
  /** Models tracked at most (default 256); others are not charted. */
  maxModels?: number;
}

/** The registry's metrics the sampler reads. */
export type SampledMetrics = Pick<
  Metrics,
  "requests" | "requestDuration" | "shadowArgmax" | "shadowErrors"
>;

type Snapshot = { total: number; errors: number; buckets: Map<number, number> };

/** The sampler and its rings; call {@link start} once and {@link stop} on shutdown. */
export class TimeSeries {
  readonly #metrics: SampledMetrics;
  readonly #capacity: number;
  readonly #maxModels: number;
  readonly #rings = new Map<string, TimePoint[]>();
  #previous = new Map<string, Snapshot>();
  #lastMs: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sampling = false;

  constructor(metrics: SampledMetrics, options: TimeSeriesOptions = {}) {
    this.#metrics = metrics;
    this.#capacity = options.capacity ?? 600;
    this.#maxModels = options.maxModels ?? 256;
  }

  /** Samples every intervalMs (default 1000); the timer never keeps the process alive. */
  start(intervalMs = 1000): void {
    if (this.#timer !== undefined) return;
    void this.sample();
    this.#timer = setInterval(() => void this.sample(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Reads the counters and appends one point per model for the time since the last sample (the
   * first sample only takes the baseline). `nowMs` is injectable for tests.
   */
  async sample(nowMs = Date.now()): Promise<void> {
    // A slow collect must not stack up samples behind it.
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      const current = await this.#snapshot();
      const last = this.#lastMs;
      this.#lastMs = nowMs;
      const seconds = last === undefined ? 0 : (nowMs - last) / 1000;
      if (seconds > 0) this.#append(current, seconds, Math.round(nowMs / 1000));
      this.#previous = current;
    } finally {
      this.#sampling = false;
    }
  }

  /** The series of one model, or of every model, trimmed to the last `seconds` points. */
  series(model?: string, seconds?: number): Record<string, ModelSeries> {
    const out: Record<string, ModelSeries> = {};
    for (const [name, ring] of this.#rings) {
      if (model !== undefined && name !== model) continue;
      const points = seconds === undefined ? ring : ring.slice(-seconds);
      out[name] = {
        t: points.map((p) => p.t),
        rate: points.map((p) => p.rate),
        errorRate: points.map((p) => p.errorRate),
        p50: points.map((p) => p.p50),
        p99: points.map((p) => p.p99),
      };
    }
    return out;
  }

  /** Shadow argmax agreement and errors per model and shadow version. */
  async shadow(): Promise<ShadowAgreement[]> {
    const byKey = new Map<string, ShadowAgreement>();
    const entry = (labels: Record<string, string | number | undefined>) => {
      const [model, primary, shadow] = [labels.model, labels.primary, labels.shadow].map(String);
      const key = `${model}\u0000${primary}\u0000${shadow}`;
      let found = byKey.get(key);
      if (found === undefined) {
        found = {
          model: model!,
          primary: primary!,
          shadow: shadow!,
          agree: 0,
          disagree: 0,
          errors: 0,
        };
        byKey.set(key, found);
      }
      return found;
    };
    for (const v of (await this.#metrics.shadowArgmax.get()).values) {
      const e = entry(v.labels);
      if (String(v.labels.agree) === "true") e.agree += v.value;
      else e.disagree += v.value;
    }
    for (const v of (await this.#metrics.shadowErrors.get()).values)
      entry(v.labels).errors += v.value;
    return [...byKey.values()];
  }

  async #snapshot(): Promise<Map<string, Snapshot>> {
    const out = new Map<string, Snapshot>();
    const of = (model: string): Snapshot | undefined => {
      let s = out.get(model);
      if (s === undefined && out.size < this.#maxModels) {
        s = { total: 0, errors: 0, buckets: new Map() };
        out.set(model, s);
      }
      return s;
    };
    for (const v of (await this.#metrics.requests.get()).values) {
      const s = of(String(v.labels.model));
      if (s === undefined) continue;
      s.total += v.value;
      if (v.labels.code !== "OK") s.errors += v.value;
    }
    for (const v of (await this.#metrics.requestDuration.get()).values) {
      if (v.metricName !== "infergate_request_duration_seconds_bucket") continue;
      const s = of(String(v.labels.model));
      if (s === undefined) continue;
      // prom-client adds `le` to bucket values beyond the declared label names.
      const bound = (v.labels as Record<string, string | number | undefined>).le;
      const le = bound === "+Inf" ? Number.POSITIVE_INFINITY : Number(bound);
      s.buckets.set(le, (s.buckets.get(le) ?? 0) + v.value);
    }
    return out;
  }

  #append(current: Map<string, Snapshot>, seconds: number, t: number): void {
    for (const [model, now] of current) {
      const before = this.#previous.get(model);
      // A counter that went down (a fresh registry) counts from zero again.
      const delta = (a: number, b: number | undefined) => Math.max(0, a - (b ?? 0));
      const total = delta(now.total, before?.total);
      const errors = delta(now.errors, before?.errors);
      const buckets = [...now.buckets]
        .map(([le, count]): [number, number] => [le, delta(count, before?.buckets.get(le))])
        .sort((a, b) => a[0] - b[0]);
      let ring = this.#rings.get(model);
      if (ring === undefined) {
        ring = [];
        this.#rings.set(model, ring);
      }
      ring.push({
        t,
        rate: total / seconds,
        errorRate: total === 0 ? 0 : errors / total,
        p50: quantile(0.5, buckets),
        p99: quantile(0.99, buckets),
      });
      if (ring.length > this.#capacity) ring.splice(0, ring.length - this.#capacity);
    }
  }
}

/**
 * The q-quantile of cumulative histogram buckets `[upperBound, count]` (sorted), interpolated
 * linearly inside the bucket as Prometheus's histogram_quantile does; null without observations.
 * A quantile in the +Inf bucket is the largest finite bound.
 */
export function quantile(
  q: number,
  buckets: readonly (readonly [number, number])[],
): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(bound)) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket === 0
        ? bound
        : lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
