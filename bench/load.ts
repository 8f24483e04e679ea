/**
 * A small load generator: closed loop (N workers, each sending its next request when the last
 * answers) or open loop (a fixed arrival rate, independent of answers), with latency percentiles.
 */

/** One measured run. */
export interface LoadResult {
  requests: number;
  errors: number;
  /** The first failure's message, so a broken cell says why instead of only how often. */
  firstError?: string;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Every successful request's latency, ms, ascending (for `combine`). */
  samples: number[];
}

/** Sends requests from `concurrency` workers for `seconds` (after `warmupSeconds` unmeasured). */
export async function closedLoop(
  send: () => Promise<unknown>,
  options: { concurrency: number; seconds: number; warmupSeconds?: number },
): Promise<LoadResult> {
  const warmupUntil = performance.now() + (options.warmupSeconds ?? 0.5) * 1000;
  const latencies: number[] = [];
  const failures = new Failures();
  let measuredFrom = 0;
  let until = 0;
  const worker = async () => {
    while (true) {
      const start = performance.now();
      if (until !== 0 && start >= until) return;
      let failed: unknown;
      try {
        await send();
      } catch (err) {
        failed = err ?? new Error("rejected");
      }
      const end = performance.now();
      if (start >= warmupUntil) {
        if (measuredFrom === 0) {
          measuredFrom = start;
          until = start + options.seconds * 1000;
        }
        if (failed !== undefined) failures.add(failed);
        else latencies.push(end - start);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return summarize(latencies, failures, (until - measuredFrom) / 1000);
}

/**
 * Sends `rate` requests per second for `seconds`, whatever the answers' latency. A timer ticks
 * about once a millisecond and sends every request whose arrival time has come, never one early;
 * latency counts from the arrival time, so a stalled generator or server cannot hide queueing
 * (no coordinated omission). Requests beyond `maxInFlight` outstanding count as errors.
 */
export async function openLoop(
  send: () => Promise<unknown>,
  options: { rate: number; seconds: number; maxInFlight?: number },
): Promise<LoadResult> {
  const latencies: number[] = [];
  const failures = new Failures();
  const maxInFlight = options.maxInFlight ?? 10_000;
  const interval = 1000 / options.rate;
  const total = Math.round(options.rate * options.seconds);
  let inFlight = 0;
  let next = 0;
  let outstanding: () => void = () => {};
  const drained = new Promise<void>((resolve) => {
    outstanding = resolve;
  });
  const settle = () => {
    inFlight--;
    if (next >= total && inFlight === 0) outstanding();
  };
  const start = performance.now();
  while (next < total) {
    const now = performance.now();
    for (; next < total && start + next * interval <= now; next++) {
      const due = start + next * interval;
      if (inFlight >= maxInFlight) {
        failures.add(new Error(`more than ${maxInFlight} requests in flight`));
        continue;
      }
      inFlight++;
      send().then(
        () => {
          latencies.push(performance.now() - due);
          settle();
        },
        (err: unknown) => {
          failures.add(err ?? new Error("rejected"));
          settle();
        },
      );
    }
    if (next < total) await new Promise((r) => setTimeout(r, 1));
  }
  if (inFlight > 0) await drained;
  // Until the last answer: a server that falls behind shows as throughput below `rate`.
  return summarize(latencies, failures, (performance.now() - start) / 1000);
}

/** Counts failures and keeps the first one's message. */
class Failures {
  count = 0;
  first: string | undefined;

  add(err: unknown): void {
    this.count++;
    this.first ??= err instanceof Error ? err.message : String(err);
  }
}

/** Several runs of the same cell as one: their samples pooled, their durations added. */
export function combine(results: readonly LoadResult[]): LoadResult {
  const failures = new Failures();
  for (const r of results) {
    failures.count += r.errors;
    failures.first ??= r.firstError;
  }
  const seconds = results.reduce((sum, r) => sum + r.seconds, 0);
  return summarize(
    results.flatMap((r) => r.samples),
    failures,
    seconds,
  );
}

function summarize(latencies: number[], failures: Failures, seconds: number): LoadResult {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ??
    Number.NaN;
  return {
    requests: latencies.length,
    errors: failures.count,
    ...(failures.first === undefined ? {} : { firstError: failures.first }),
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: pct(50),
    p90Ms: pct(90),
    p99Ms: pct(99),
    samples: latencies,
  };
}
