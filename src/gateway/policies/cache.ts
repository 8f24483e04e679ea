/** The response cache's entry in the chain (docs/resilience.md "Caching"). */
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
      generation: cache.generation,
      backend: config.backends[target.backend] ?? null,
    };
  },
  create: (settings, { model, slot, target, cache }) => {
    if (cache === undefined) throw new Error("cache policy created without a cache");
    const namespace = JSON.stringify([model, slot, targetId(target), settings.backend]);
    return {
      policy: cache.instance.policy({ namespace, ttlSeconds: settings.ttlSeconds }),
      cached: true,
    };
  },
});
