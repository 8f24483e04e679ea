/** The response cache's entry in the chain (docs/resilience.md "Caching"). */
import { spanPolicy } from "../../observability/trace-front.js";
import { compose } from "../../pipeline/types.js";
import { targetId } from "../route.js";
import { definePolicy } from "./spec.js";

export const cachePolicy = definePolicy({
  name: "cache",
  settings: ({ config, modelConfig, target, cache }) => {
    const settings = modelConfig.cache ?? config.defaults.cache;
    if (settings === undefined || cache === undefined) return undefined;
    // The generation rebuilds cached slots when the cache itself is replaced; the backend config
    // is in the namespace so that a changed backend never serves another's answers.
    return {
      ttlSeconds: settings.ttlSeconds,
      // Per tenant unless shared (docs/access.md "Tenants").
      shared: settings.shared === true,
      generation: cache.generation,
      backend: config.backends[target.backend] ?? null,
    };
  },
  create: (settings, { model, slot, target, cache }) => {
    if (cache === undefined) throw new Error("cache policy created without a cache");
    const namespace = JSON.stringify([model, slot, targetId(target), settings.backend]);
    return {
      // The lookup runs in its own span (docs/access.md "Tracing").
      policy: compose(
        spanPolicy("cache"),
        cache.instance.policy({
          namespace,
          ttlSeconds: settings.ttlSeconds,
          shared: settings.shared,
        }),
      ),
      cached: true,
    };
  },
});
