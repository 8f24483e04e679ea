/**
 * Paired bootstrap intervals over rounds: a bench runs its cells in many short rotating rounds, so
 * bursts of other work on the machine (which come in bursts that hit a round, not one request)
 * land on every cell alike. Rounds are the resampling unit, and pairing keeps each round's cells
 * together, as they shared the machine's weather. Shared by the overhead and cache scenarios.
 */
import type { LoadResult } from "./load.js";
import { delta, num } from "./report.js";

/** Resamples per interval: enough for a 95% interval's ends to settle to two decimals. */
const RESAMPLES = 400;

/** A statistic of some rounds of one cell (a round may be picked more than once). */
export type Statistic = (rounds: readonly LoadResult[]) => number;

/** The `pct`-th latency percentile of the rounds' pooled samples, as load.ts takes it. */
export function latencyPercentile(pct: number): Statistic {
  return (rounds) => percentile(pooled(rounds), pct);
}

/** Requests per second over the rounds (answered requests / summed seconds). */
export const throughput: Statistic = (rounds) => {
  let requests = 0;
  let seconds = 0;
  for (const r of rounds) {
    requests += r.requests;
    seconds += r.seconds;
  }
  return requests / seconds;
};

/** A point estimate and its 95% interval. */
export interface Interval {
  value: number;
  low: number;
  high: number;
}

/**
 * `combine(stat(a), stat(b))` over the rounds pooled, with a 95% interval from resampling rounds
 * with replacement (the same rounds for `a` and `b`). Seeded, so a result file's intervals can be
 * recomputed exactly.
 */
export function pairedInterval(
  a: readonly LoadResult[],
  b: readonly LoadResult[],
  stat: Statistic,
  combine: (x: number, y: number) => number,
  seed = 1,
): Interval {
  const rounds = Math.min(a.length, b.length);
  const measure = (picks: readonly number[]) => {
    const ra = picks.map((i) => a[i]).filter((r): r is LoadResult => r !== undefined);
    const rb = picks.map((i) => b[i]).filter((r): r is LoadResult => r !== undefined);
    return combine(stat(ra), stat(rb));
  };
  const all = Array.from({ length: rounds }, (_, i) => i);
  const value = measure(all);
  const random = mulberry32(rounds * 1009 + seed);
  const values: number[] = [];
  for (let r = 0; r < RESAMPLES && rounds > 1; r++) {
    values.push(measure(all.map(() => Math.floor(random() * rounds))));
  }
  values.sort((x, y) => x - y);
  return { value, low: percentile(values, 2.5), high: percentile(values, 97.5) };
}

/** "+0.31 (+0.22 – +0.40)": a difference with its interval. */
export function formatDelta(i: Interval, digits = 2): string {
  return `${delta(i.value, digits)} (${delta(i.low, digits)} – ${delta(i.high, digits)})`;
}

/** "0.97 (0.90–1.05)": a ratio with its interval. */
export function formatRatio(i: Interval, digits = 2): string {
  return `${num(i.value, digits)} (${num(i.low, digits)}–${num(i.high, digits)})`;
}

function pooled(rounds: readonly LoadResult[]): number[] {
  return rounds.flatMap((r) => r.samples).sort((x, y) => x - y);
}

function percentile(sorted: readonly number[], pct: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((pct / 100) * sorted.length))] ?? Number.NaN;
}

/** A small seeded PRNG. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
