/**
 * `/metrics` of a gateway running several worker processes (docs/workers.md): the primary gathers
 * each worker's registry as prom-client JSON and merges them with prom-client's
 * AggregatorRegistry, so counters and histograms count the whole gateway. Gauges sum too (queue
 * depths, cache bytes), except those whose sum means nothing, listed here.
 */
import { type Aggregator, AggregatorRegistry, Registry } from "prom-client";

/** One worker's metrics as `registry.getMetricsAsJSON()` gives them. */
export type WorkerMetrics = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/**
 * Gauges whose sum means nothing. A breaker state or rollout weight is a state: every worker keeps
 * its own, and the worst (highest) one is what an alert should see. Job counts are read from the
 * job store, which the workers share (Redis) or only the job worker reports: either way every
 * reporting worker sees the same whole count.
 */
const AGGREGATORS: Readonly<Record<string, Aggregator>> = {
  infergate_breaker_state: "max",
  infergate_rollout_weight: "max",
  infergate_jobs: "max",
};

/** The merged exposition text of every worker's metrics. */
export async function aggregateWorkerMetrics(workers: readonly WorkerMetrics[]): Promise<string> {
  const marked = workers.map((metrics) =>
    metrics.map((metric) => {
      const aggregator = AGGREGATORS[metric.name];
      return aggregator === undefined ? metric : { ...metric, aggregator };
    }),
  );
  return AggregatorRegistry.aggregate(marked).metrics();
}

/** True when `value` has the shape of {@link WorkerMetrics} (it crossed a process boundary). */
export function isWorkerMetrics(value: unknown): value is WorkerMetrics {
  return (
    Array.isArray(value) &&
    value.every(
      (m: unknown) =>
        typeof m === "object" &&
        m !== null &&
        "name" in m &&
        typeof m.name === "string" &&
        "values" in m &&
        Array.isArray(m.values),
    )
  );
}

/**
 * A registry whose exposition is the whole gateway's: `/metrics` serves it in a worker. Metrics
 * are still recorded in the worker's own registry; only the text served is fetched.
 */
export class ClusterRegistry extends Registry {
  constructor(private readonly fetchText: () => Promise<string>) {
    super();
  }

  override metrics(): Promise<string> {
    return this.fetchText();
  }
}
