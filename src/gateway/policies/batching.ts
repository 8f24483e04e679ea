/** Dynamic batching's entry in the chain (docs/resilience.md "Batching"). */
import { effectivePolicy } from "../../config/effective.js";
import { spanPolicy } from "../../observability/trace-front.js";
import { Batcher } from "../../pipeline/batcher.js";
import { compose } from "../../pipeline/types.js";
import { tritonStats } from "../../triton/statistics.js";
import { definePolicy } from "./spec.js";

export const batchingPolicy = definePolicy({
  name: "batching",
  settings: ({ config, modelConfig }) => effectivePolicy(config, modelConfig, "batching"),
  create: (settings, { metrics, labels, model, slot }) => {
    const backend = labels.backend;
    // Triton's statistics (docs/triton.md) count batches and queue time per gateway version.
    const version = slot.kind === "version" ? slot.version : undefined;
    const batcher = new Batcher({
      config: settings,
      onBatch: (rows) => {
        metrics.batchSize.observe({ backend }, rows);
        if (version !== undefined) tritonStats.batch(model, version, rows);
      },
      onQueueDepth: (depth) => metrics.batchQueueDepth.set(labels, depth),
      onQueueWait: (ms) => {
        metrics.batchQueueWait.observe({ backend }, ms / 1000);
        if (version !== undefined) tritonStats.queued(model, version, ms);
      },
    });
    // The wait in the batch queue runs in its own span (docs/access.md "Tracing").
    return {
      policy: compose(spanPolicy("batch queue"), batcher.policy),
      close: () => batcher.close(),
    };
  },
});
