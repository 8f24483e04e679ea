/** The concurrency limit's entry in the chain (docs/resilience.md "Concurrency limit and load shedding"). */
import { mergedPolicy } from "../../config/effective.js";
import { ConcurrencyLimiter } from "../../pipeline/limiter.js";
import { definePolicy } from "./spec.js";

export const concurrencyPolicy = definePolicy({
  name: "concurrency",
  settings: ({ config, modelConfig }) => mergedPolicy(config, modelConfig, "concurrency"),
  create: (settings, { metrics, labels }) => {
    const limiter = new ConcurrencyLimiter({
      config: settings,
      onShed: () => metrics.shed.inc({ backend: labels.backend }),
      onQueueDepth: (depth) => metrics.queueDepth.set(labels, depth),
    });
    return { policy: limiter.policy };
  },
});
