/** The circuit breaker's entry in the chain (docs/resilience.md "Circuit breaker"). */
import { effectivePolicy } from "../../config/effective.js";
import { type BreakerState, TargetBreaker } from "../../pipeline/breaker.js";
import { definePolicy } from "./spec.js";

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, open: 1, halfOpen: 2 };

export const breakerPolicy = definePolicy({
  name: "breaker",
  settings: ({ config, modelConfig }) => effectivePolicy(config, modelConfig, "breaker"),
  create: (settings, { metrics, labels, model, target }) => {
    const breaker = new TargetBreaker({
      name: `${model}/${labels.version} -> ${target.backend}`,
      config: settings,
      onStateChange: (state) => metrics.breakerState.set(labels, STATE_VALUE[state]),
    });
    metrics.breakerState.set(labels, 0);
    return { policy: breaker.policy, breaker, close: () => breaker.close() };
  },
});
