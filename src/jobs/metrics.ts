/**
 * The job metrics (docs/async.md "Metrics"), registered by the gateway's registry. `kind` is
 * "async" for async inference jobs, so batch jobs can share the same series.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { createBatchMetrics } from "./batch/metrics.js";

/** Where the `infergate_jobs` gauge reads its counts at scrape time. */
export type JobCountSource = () => Promise<Partial<Record<string, number>>>;

/** Creates the job metrics on `registry`. */
export function createJobMetrics(registry: Registry) {
  const sources = new Map<string, JobCountSource>();
  const jobs = new Gauge({
    name: "infergate_jobs",
    help: "Jobs by kind (async, batch) and status, as the job store counts them (all replicas on Redis).",
    labelNames: ["kind", "status"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [kind, source] of sources) {
        try {
          const counts = await source();
          for (const [status, n] of Object.entries(counts)) this.set({ kind, status }, n ?? 0);
        } catch {
          // A store that cannot answer right now (Redis down) leaves its series out of this scrape.
        }
      }
    },
  });
  const jobsTotal = new Counter({
    name: "infergate_jobs_total",
    help: "Jobs finished by this process, by kind and outcome (succeeded, failed, cancelled).",
    labelNames: ["kind", "outcome"] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: "infergate_job_duration_seconds",
    help: "Run time of finished jobs (start to finish), by kind and outcome.",
    labelNames: ["kind", "outcome"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const webhookDeliveries = new Counter({
    name: "infergate_webhook_deliveries_total",
    help: "Webhook delivery attempts by outcome: delivered, retry, failed (attempts used up), gone (410), refused (host not allowed).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  return {
    batch: { ...createBatchMetrics(registry), webhookDeliveries },
    jobs,
    jobsTotal,
    jobDuration,
    webhookDeliveries,
    /** Sets (or with undefined, drops) the count source of a job kind. */
    setCountSource(kind: string, source: JobCountSource | undefined): void {
      if (source === undefined) sources.delete(kind);
      else sources.set(kind, source);
    },
  };
}

/** The job metrics. */
export type JobMetrics = ReturnType<typeof createJobMetrics>;
