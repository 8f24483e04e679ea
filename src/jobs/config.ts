/**
 * The `jobs` block of the gateway config: asynchronous inference (docs/async.md). Every key has a
 * default, so async inference works with no `jobs` block at all, on the embedded store.
 */
import { z } from "zod";
import {
  batchSettingsSchema,
  hostPattern,
  postgresAccessSchema,
  schedulesSchema,
} from "./batch/config.js";

// Node timers cannot wait longer than 2^31-1 ms.
const MAX_TIMER_MS = 2_147_483_647;
const positiveInt = z.number().int().positive();
const durationMs = z.number().int().positive().max(MAX_TIMER_MS);

export const webhooksSchema = z
  .strictObject({
    /** Standard Webhooks secret, `whsec_<base64>`; the HMAC key is the base64-decoded part. */
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, "expected whsec_<base64>")
      .optional(),
    /** Hosts a webhook may call; absent or empty = webhooks are refused. */
    allowedHosts: z.array(hostPattern).default([]),
    /** A delivery answered 2xx within this is delivered. */
    timeoutMs: durationMs.default(15_000),
    /** Retry n waits retryBaseMs × 4^(n−1), ±20% jitter, at most one hour. */
    retryBaseMs: durationMs.default(5000),
    /** Deliveries of one event, the first included. */
    maxAttempts: positiveInt.max(100).default(8),
    /** Deliveries in flight at once per gateway process. */
    concurrency: positiveInt.max(1000).default(16),
  })
  .refine((w) => w.allowedHosts.length === 0 || w.secret !== undefined, {
    message: "required when allowedHosts is set (deliveries are signed)",
    path: ["secret"],
  });

export const jobsRedisSchema = z.strictObject({
  /** A Redis of its own for jobs (BullMQ needs `maxmemory-policy noeviction`). */
  url: z.string().regex(/^rediss?:\/\//, "expected redis:// URL"),
  /** Prefix of every key; default the top-level `redis.keyPrefix`, else `infergate:`. */
  keyPrefix: z.string().optional(),
});

export const jobsSchema = z.strictObject({
  /** The embedded store's directory (used when no Redis is configured for jobs). */
  dir: z.string().min(1).default("./data/jobs"),
  /** Finished jobs and their results are kept this long, then answer JOB_NOT_FOUND. */
  resultTtlSeconds: positiveInt.max(365 * 24 * 3600).default(86_400),
  /** Async jobs running at once in this gateway process. */
  concurrency: positiveInt.max(10_000).default(8),
  /** Queued jobs (all replicas together on Redis); a submit beyond it is OVERLOADED. */
  maxQueued: positiveInt.max(10_000_000).default(100_000),
  /**
   * A running job whose process stops renewing its lock for this long is taken over by another
   * replica (Redis only).
   */
  lockDurationMs: durationMs.min(500).default(30_000),
  /** Jobs in Redis here instead of the top-level `redis` (which may be an evicting LRU cache). */
  redis: jobsRedisSchema.optional(),
  webhooks: webhooksSchema.default(() => webhooksSchema.parse({})),
  /** Batch inputs, outputs and uploads live under this directory (docs/batch.md). */
  dataDir: z.string().min(1).default("./data/files"),
  /** Largest file `POST /v1/files` accepts. */
  maxUploadBytes: positiveInt.default(1024 * 1024 * 1024),
  /** How batches run: chunk size, rows per call, calls in flight per target. */
  batch: batchSettingsSchema.default(() => batchSettingsSchema.parse({})),
  /** Postgres hosts a batch request may name; absent or empty = refused over the API. */
  postgres: postgresAccessSchema.default(() => postgresAccessSchema.parse({})),
  /** Batches run on a cron schedule (docs/batch.md "Schedules"). */
  schedules: schedulesSchema.default([]),
});

/** The parsed `jobs` block, defaults applied. */
export type JobsConfig = z.output<typeof jobsSchema>;
export type WebhooksConfig = z.output<typeof webhooksSchema>;
