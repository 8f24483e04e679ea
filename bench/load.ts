/**
 * A small load generator: closed loop (N workers, each sending its next request when the last
 * answers) or open loop (a fixed arrival rate, independent of answers), with latency percentiles.
 */

/** One measured run. */
export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

/** Sends requests from `concurrency` workers for `seconds` (after `warmupSeconds` unmeasured). */
export async function closedLoop(
  send: () => Promise<unknown>,
  options: { concurrency: number; seconds: number; warmupSeconds?: number },
): Promise<LoadResult> {
  const warmupUntil = performance.now() + (options.warmupSeconds ?? 0.5) * 1000;
  const latencies: number[] = [];
  let errors = 0;
  let measuredFrom = 0;
  let until = 0;
  const worker = async () => {
    while (true) {
      const start = performance.now();
      if (until !== 0 && start >= until) return;
      let failed = false;
      try {
        await send();
      } catch {
        failed = true;
      }
      const end = performance.now();
      if (start >= warmupUntil) {
        if (measuredFrom === 0) {
          measuredFrom = start;
          until = start + options.seconds * 1000;
        }
        if (failed) errors++;
        else latencies.push(end - start);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return summarize(latencies, errors, (until - measuredFrom) / 1000);
}

/** Sends `rate` requests per second for `seconds`, whatever the answers' latency. */
export async function openLoop(
  send: () => Promise<unknown>,
  options: { rate: number; seconds: number; maxInFlight?: number },
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let inFlight = 0;
  const pending: Promise<void>[] = [];
  const interval = 1000 / options.rate;
  const start = performance.now();
  const total = Math.round(options.rate * options.seconds);
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (inFlight >= (options.maxInFlight ?? 10_000)) {
      errors++;
      continue;
    }
    inFlight++;
    const sent = performance.now();
    pending.push(
      send()
        .then(
          () => {
            // Latency from the scheduled time, so a stalled generator cannot hide queueing.
            latencies.push(performance.now() - Math.min(due, sent));
          },
          () => {
            errors++;
          },
        )
        .finally(() => {
          inFlight--;
        }),
    );
  }
  await Promise.all(pending);
  return summarize(latencies, errors, options.seconds);
}

function summarize(latencies: number[], errors: number, seconds: number): LoadResult {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ??
    Number.NaN;
  return {
    requests: latencies.length,
    errors,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: pct(50),
    p90Ms: pct(90),
    p99Ms: pct(99),
  };
}
