/** Retries' entry in the chain, with the slot's retry budget (docs/resilience.md "Retries and the retry budget"). */
import { effectivePolicy } from "../../config/effective.js";
import { retry } from "../../pipeline/retry.js";
import { RetryBudget } from "../../pipeline/retry-budget.js";
import { definePolicy } from "./spec.js";

export const retryPolicy = definePolicy({
  name: "retry",
  settings: ({ config, modelConfig }) => {
    const settings = effectivePolicy(config, modelConfig, "retry");
    return settings !== undefined && settings.attempts > 0 ? settings : undefined;
  },
  create: (settings, { metrics, labels }) => ({
    policy: retry({
      config: settings,
      budget: new RetryBudget(settings),
      onRetry: (result) => metrics.retries.inc({ backend: labels.backend, result }),
    }),
  }),
});
