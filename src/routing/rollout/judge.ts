/**
 * How a rollout judges one interval's numbers: the error-rate and p99 bounds of docs/traffic.md "Progressive rollout", and which
 * stable numbers the canary is compared with. Pure functions, so one replica can judge the merged
 * numbers of all of them (see sync.ts) exactly as a lone gateway judges its own.
 */
import type { RolloutConfig } from "../../config/schema.js";
import type { ArmStats } from "./stats.js";

/** The stable version's numbers from the last interval that had enough of its traffic. */
export interface RolloutBaseline {
  errorRate: number;
  /** Null when that interval's stable requests all lacked a latency (never in practice). */
  p99: number | null;
}

/** One interval's stats of both arms. */
export interface RolloutArms {
  from: ArmStats;
  to: ArmStats;
}

/** The stable numbers a canary is judged against. */
interface StableView {
  errorRate: number;
  p99(): number | null;
}

/** The floor of a p99 denominator, in ms: sub-millisecond noise must not trigger a rollback. */
const P99_FLOOR_MS = 1;

/** `0.125` → `"12.5%"`. */
export const pct = (rate: number): string => `${(rate * 100).toFixed(1)}%`;
/** `12.3456` → `"12.35 ms"`. */
export const ms = (value: number): string => `${Number(value.toFixed(2))} ms`;

/** True when the stable arm had enough requests this interval to be judged by itself. */
function stableIsSolid(config: RolloutConfig, from: ArmStats): boolean {
  return from.requests >= Math.max(1, config.minRequests);
}

/**
 * The interval's stable arm when it had at least `minRequests` (min 1) requests; otherwise the
 * remembered baseline (the stable gets little or no traffic near 100%); otherwise whatever the
 * interval had.
 */
export function stableOf(
  config: RolloutConfig,
  arms: RolloutArms,
  baseline: RolloutBaseline | undefined,
): StableView {
  if (stableIsSolid(config, arms.from) || baseline === undefined) return arms.from;
  return { errorRate: baseline.errorRate, p99: () => baseline.p99 };
}

/** This interval's stable numbers when they are solid enough to judge later intervals by. */
export function nextBaseline(
  config: RolloutConfig,
  arms: RolloutArms,
  previous: RolloutBaseline | undefined,
): RolloutBaseline | undefined {
  if (!stableIsSolid(config, arms.from)) return previous;
  return { errorRate: arms.from.errorRate, p99: arms.from.p99() };
}

/** Why the canary's error rate is out of bounds, or undefined when it is within them. */
export function errorBreach(
  config: RolloutConfig,
  arms: RolloutArms,
  baseline: RolloutBaseline | undefined,
): string | undefined {
  const stable = stableOf(config, arms, baseline).errorRate;
  const canary = arms.to.errorRate;
  if (canary - stable <= config.maxErrorRateIncrease) return undefined;
  return (
    `canary error rate ${pct(canary)} exceeds stable ${pct(stable)} by more than ` +
    `${pct(config.maxErrorRateIncrease)} (${arms.to.errors}/${arms.to.requests} requests)`
  );
}

/** Why the canary's p99 is out of bounds, or undefined when within them or not comparable. */
export function latencyBreach(
  config: RolloutConfig,
  arms: RolloutArms,
  baseline: RolloutBaseline | undefined,
): string | undefined {
  const stable = stableOf(config, arms, baseline).p99();
  const canary = arms.to.p99();
  if (stable === null || canary === null) return undefined;
  const ratio = canary / Math.max(stable, P99_FLOOR_MS);
  if (ratio <= config.maxP99Ratio) return undefined;
  return `canary p99 ${ms(canary)} is ${ratio.toFixed(2)}x the stable's ${ms(stable)} (max ${config.maxP99Ratio}x)`;
}

/** The healthy interval's summary line, e.g. "canary error rate 0.0% vs stable 0.0%, p99 ...". */
export function healthySummary(
  config: RolloutConfig,
  arms: RolloutArms,
  baseline: RolloutBaseline | undefined,
): string {
  const stable = stableOf(config, arms, baseline);
  const stableP99 = stable.p99();
  const canaryP99 = arms.to.p99();
  const latency =
    stableP99 !== null && canaryP99 !== null ? `, p99 ${ms(canaryP99)} vs ${ms(stableP99)}` : "";
  return `canary error rate ${pct(arms.to.errorRate)} vs stable ${pct(stable.errorRate)}${latency} over ${arms.to.requests} requests`;
}
