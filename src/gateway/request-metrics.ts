/**
 * The per-request metrics of one snapshot (`infergate_requests_total`,
 * `infergate_request_duration_seconds`) through labelled children bound once: prom-client
 * validates and hashes labels on every labelled call otherwise. Bounded by models × versions ×
 * backends × error codes.
 */
import type { Metrics } from "../metrics/registry.js";

/** Counts and times finished requests. */
export class RequestMetrics {
  private readonly counters = new Map<string, { inc(): void }>();
  private readonly durations = new Map<string, { observe(value: number): void }>();

  constructor(private readonly metrics: Metrics) {}

  /** One finished request with its result code (OK or an error code). */
  count(model: string, version: string, backend: string, code: string): void {
    const key = `${model}\u0000${version}\u0000${backend}\u0000${code}`;
    let counter = this.counters.get(key);
    if (counter === undefined) {
      counter = this.metrics.requests.labels({ model, version, backend, code });
      this.counters.set(key, counter);
    }
    counter.inc();
  }

  /** One request's duration, in seconds. */
  observe(model: string, version: string, seconds: number): void {
    const key = `${model}\u0000${version}`;
    let histogram = this.durations.get(key);
    if (histogram === undefined) {
      histogram = this.metrics.requestDuration.labels({ model, version });
      this.durations.set(key, histogram);
    }
    histogram.observe(seconds);
  }

  /** A request a fallback answered. */
  fallback(model: string, version: string, backend: string): void {
    this.metrics.fallbacks.inc({ model, version, backend });
  }
}
