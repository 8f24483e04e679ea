/** Dynamic batching's entry in the chain (docs/resilience.md "Batching"). */
import { effectivePolicy } from "../../config/effective.js";
import { Batcher } from "../../pipeline/batcher.js";
import { definePolicy } from "./spec.js";

export const batchingPolicy = definePolicy({
  name: "batching",
  settings: ({ config, modelConfig }) => effectivePolicy(config, modelConfig, "batching"),
  create: (settings, { metrics, labels }) => {
    const backend = labels.backend;
    const batcher = new Batcher({
      config: settings,
      onBatch: (rows) => metrics.batchSize.observe({ backend }, rows),
      onQueueDepth: (depth) => metrics.batchQueueDepth.set(labels, depth),
      onQueueWait: (ms) => metrics.batchQueueWait.observe({ backend }, ms / 1000),
    });
    return { policy: batcher.policy, close: () => batcher.close() };
  },
});
