/**
 * Batch metrics (docs/batch.md "Metrics"): records by model and outcome, batches finished, and
 * the per-status gauge through the shared `infergate_jobs{kind="batch"}` series.
 */
import { Counter, type Registry } from "prom-client";

/** Creates the batch metrics on `registry`. */
export function createBatchMetrics(registry: Registry) {
  return {
    records: new Counter({
      name: "infergate_batch_records_total",
      help: "Batch records finished by this process, by model and outcome (succeeded, failed). rate() is the batch throughput.",
      labelNames: ["model", "outcome"] as const,
      registers: [registry],
    }),
    batchesTotal: new Counter({
      name: "infergate_batches_total",
      help: "Batches finished by this process, by outcome (succeeded, failed, cancelled).",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
  };
}

/** The batch metrics, and the webhook counter they share with async jobs. */
export type BatchMetrics = ReturnType<typeof createBatchMetrics> & {
  readonly webhookDeliveries?: Counter<"outcome">;
};
