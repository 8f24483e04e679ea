/**
 * The batch runner and the schedules the job engine starts (docs/batch.md): in process, or on a
 * Redis of the jobs' own (`jobs.redis`) so any replica runs shards and each occurrence runs once.
 * Batches never use the cache Redis: it may evict keys (a lost shard), and a gateway that never
 * runs a batch should add no queue traffic to it.
 */
import type { GatewayConfig } from "../../config/schema.js";
import type { InferenceService } from "../../gateway/types.js";
import type { JobMetrics } from "../metrics.js";
import type { JobLogger } from "../store-hooks.js";
import { BatchManager } from "./manager.js";
import { RedisBatches } from "./redis-batches.js";
import { Scheduler } from "./schedules.js";
import type { Batches } from "./types.js";

/** What the batches need of the job engine's options. */
export interface BatchSetup {
  config: GatewayConfig;
  service: () => InferenceService;
  logger: JobLogger;
  metrics: JobMetrics;
}

/** The batch runner and the scheduler over it. */
export function startBatches(options: BatchSetup): { batches: Batches; schedules: Scheduler } {
  const { config, logger } = options;
  const redis = config.jobs.redis;
  const keyPrefix = redis?.keyPrefix ?? config.redis?.keyPrefix ?? "infergate:";
  const batchOptions = {
    config,
    service: options.service,
    logger,
    metrics: options.metrics.batch,
  };
  const batches =
    redis === undefined
      ? new BatchManager(batchOptions)
      : new RedisBatches({ ...batchOptions, url: redis.url, keyPrefix });
  const schedules = new Scheduler(
    config.jobs.schedules,
    batches,
    (err, name) => logger.error({ err, schedule: name }, "scheduled batch failed to start"),
    redis === undefined ? undefined : { url: redis.url, keyPrefix },
  );
  return { batches, schedules };
}
