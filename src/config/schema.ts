/**
 * The routing config of docs/config.md as a zod schema; the TypeScript types are inferred from it.
 * Every object is strict (unknown keys are errors). Cross-references (traffic and labels naming
 * existing versions, targets naming existing backends) are checked in `references.ts`.
 */
import { z } from "zod";
import {
  durationMs,
  durationMsOrZero,
  MAX_TIMER_MS,
  nonNegativeInt,
  positiveInt,
} from "./primitives.js";
import { grpcServerSchema, limitsSchema, serverSchema } from "./server-schema.js";

export { MAX_TIMER_MS };

import { authSchema, rateLimitsSchema } from "../auth/schema.js";
import { jobsSchema } from "../jobs/config.js";
import { tracingSchema } from "../observability/schema.js";
import { DATATYPES } from "../tensor/types.js";

/** Versions are strings; a bare YAML integer (`default: 1`) is accepted and read as "1". */
const versionId = z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String);

export const tensorSpecSchema = z.strictObject({
  name: z.string().min(1),
  datatype: z.enum(DATATYPES),
  shape: z.array(z.number().int().min(-1)),
});

export const targetSchema = z.strictObject({
  backend: z.string().min(1),
  model: z.string().min(1).optional(),
  version: versionId.optional(),
  signature: z.string().min(1).optional(),
  inputs: z.array(tensorSpecSchema).optional(),
  outputs: z.array(tensorSpecSchema).optional(),
  /** Class labels for classification answers (docs/triton.md): a list, or a file, one per line. */
  labels: z.union([z.array(z.string()), z.string().min(1)]).optional(),
});

const retryKeys = {
  attempts: nonNegativeInt.max(10),
  backoffMs: durationMsOrZero,
  budgetPercent: z.number().min(0).max(100),
  /** Retries always allowed per second on top of the budget, so a quiet target can still retry. */
  minRetriesPerSecond: z.number().min(0).max(1000),
};
const breakerKeys = {
  errorThresholdPercentage: z.number().min(0).max(100),
  volumeThreshold: nonNegativeInt,
  rollingWindowMs: durationMs,
  resetTimeoutMs: durationMs,
};
const concurrencyKeys = {
  /** Calls in flight to one target at once. */
  maxInFlight: positiveInt,
  /** Requests waiting for a slot; beyond it OVERLOADED with Retry-After. 0 = no queue. */
  maxQueue: nonNegativeInt,
};
const batchingKeys = {
  maxBatchSize: positiveInt,
  maxDelayMs: z.number().min(0).max(MAX_TIMER_MS),
  maxQueue: positiveInt,
};

/** Built-in values of each policy key (the example values of docs/config.md "`defaults`"). */
export const POLICY_DEFAULTS = {
  retry: { attempts: 2, backoffMs: 25, budgetPercent: 20, minRetriesPerSecond: 10 },
  concurrency: { maxInFlight: 256, maxQueue: 1024 },
  breaker: {
    errorThresholdPercentage: 50,
    volumeThreshold: 20,
    rollingWindowMs: 10_000,
    resetTimeoutMs: 5_000,
  },
  batching: { maxBatchSize: 32, maxDelayMs: 2, maxQueue: 1024 },
} as const;

/**
 * A policy block as written: every key optional. A model's block is merged over `defaults`' block
 * key by key (see `effectivePolicy`), so a model can change one key and inherit the rest.
 */
export const retrySchema = z.strictObject(retryKeys).partial();
export const breakerSchema = z.strictObject(breakerKeys).partial();
export const batchingSchema = z.strictObject(batchingKeys).partial();
export const concurrencySchema = z.strictObject(concurrencyKeys).partial();

export const cacheSchema = z.strictObject({
  ttlSeconds: z
    .number()
    .positive()
    .max(365 * 24 * 3600),
  /** With `auth`, one entry for every tenant instead of one per tenant (docs/access.md). */
  shared: z.boolean().optional(),
});

const httpAddress = z.url({ protocol: /^https?$/ });
const grpcAddress = z.string().regex(/^[^\s/]+:\d+$/, "expected host:port");
const remoteProtocol = z.enum(["rest", "grpc"]);

/** One address, or several replicas of the same server. */
const addresses = <T extends z.ZodType>(one: T) => z.union([one, z.array(one).min(1).max(64)]);

export const outlierDetectionSchema = z.strictObject({
  /** Failures in a row (5xx, UNAVAILABLE, connection errors, timeouts) that eject a replica. */
  consecutiveFailures: positiveInt.default(5),
  /** First ejection length; the n-th ejection of a replica lasts n times as long, capped. */
  baseEjectionTimeMs: durationMs.default(30_000),
  maxEjectionTimeMs: durationMs.default(300_000),
  /** Most replicas ejected at once, in percent (at least one may always be ejected). */
  maxEjectionPercent: z.number().min(0).max(100).default(50),
});

const remoteKeys = {
  url: addresses(httpAddress).optional(),
  grpc: addresses(grpcAddress).optional(),
  protocol: remoteProtocol.optional(),
  /** Most connections (HTTP) the gateway opens to each replica; default 64. */
  maxConnections: positiveInt.optional(),
  /** Replica ejection when `url`/`grpc` list several addresses. */
  outlierDetection: outlierDetectionSchema.optional(),
  /** Largest answer read from this backend, enforced while it streams; default 4 × bodyLimitBytes. */
  maxResponseBytes: positiveInt.optional(),
};

export const backendSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("tfserving"), ...remoteKeys }),
  z.strictObject({
    type: z.literal("torchserve"),
    ...remoteKeys,
    /** TorchServe's inference API token (`Authorization: Bearer`), usually `${TS_TOKEN}`. */
    token: z.string().min(1).optional(),
  }),
  z.strictObject({ type: z.literal("triton"), ...remoteKeys }),
  z.strictObject({
    type: z.literal("onnx"),
    modelDir: z.string().min(1),
    /** onnxruntime intra-op threads per session; absent = onnxruntime's default. */
    intraOpNumThreads: positiveInt.optional(),
    /**
     * Worker threads running the sessions, so a long model run never blocks the event loop;
     * 0 or absent runs them on the event loop, cheapest for tiny models.
     */
    workers: z.number().int().min(0).max(64).optional(),
  }),
]);

export const defaultsSchema = z.strictObject({
  timeoutMs: durationMs.default(1000),
  retry: retrySchema.optional(),
  breaker: breakerSchema.optional(),
  batching: batchingSchema.optional(),
  cache: cacheSchema.optional(),
  concurrency: concurrencySchema.optional(),
});

export const trafficEntrySchema = z.strictObject({
  version: versionId,
  weight: nonNegativeInt,
});

export const shadowSchema = z.strictObject({
  /** The version that receives copies. */
  version: versionId,
  /** Share of requests copied, 0–100. */
  percent: z.number().min(0).max(100),
});

export const rolloutSchema = z.strictObject({
  from: versionId,
  to: versionId,
  /** The canary's share at each step, ascending, ending at 100. */
  steps: z.array(z.number().min(0).max(100)).min(1),
  intervalSeconds: z.number().positive().max(86_400),
  /** Largest allowed canary error rate minus the stable version's (0.02 = 2 points). */
  maxErrorRateIncrease: z.number().min(0).max(1).default(0.02),
  /** Largest allowed canary p99 / stable p99. */
  maxP99Ratio: z.number().positive().default(1.5),
  /** Requests the canary needs in an interval before it is judged. */
  minRequests: nonNegativeInt.default(100),
});

export const modelSchema = z.strictObject({
  versions: z.record(z.string().min(1), targetSchema).refine((v) => Object.keys(v).length > 0, {
    message: "a model needs at least one version",
  }),
  labels: z.record(z.string().min(1), versionId).optional(),
  default: versionId.optional(),
  traffic: z.array(trafficEntrySchema).min(1).optional(),
  sticky: z.strictObject({ header: z.string().min(1) }).optional(),
  shadow: shadowSchema.optional(),
  rollout: rolloutSchema.optional(),
  fallback: z.array(targetSchema).optional(),
  timeoutMs: durationMs.optional(),
  retry: retrySchema.optional(),
  breaker: breakerSchema.optional(),
  batching: batchingSchema.optional(),
  cache: cacheSchema.optional(),
  concurrency: concurrencySchema.optional(),
});

export const configSchema = z.strictObject({
  server: serverSchema.default(() => serverSchema.parse({})),
  redis: z
    .strictObject({
      url: z.string().regex(/^rediss?:\/\//, "expected redis:// URL"),
      /** Prefix of every key the gateway writes, so gateways can share one Redis. */
      keyPrefix: z.string().default("infergate:"),
      /**
       * Key of the HMAC that authenticates cache values in Redis (a value anyone else wrote is a
       * miss); absent = the INFERGATE_CACHE_HMAC_KEY environment variable (see docs/config.md).
       */
      cacheHmacKey: z.string().min(16).optional(),
    })
    .optional(),
  backends: z.record(z.string().min(1), backendSchema),
  defaults: defaultsSchema.default(() => defaultsSchema.parse({})),
  models: z.record(z.string().min(1), modelSchema),
  jobs: jobsSchema.default(() => jobsSchema.parse({})),
  // Access control and tracing (docs/access.md); schemas live in src/auth and src/observability.
  auth: authSchema.optional(),
  rateLimits: rateLimitsSchema.optional(),
  tracing: tracingSchema.optional(),
});

/** A parsed, defaults-applied config. */
export type GatewayConfig = z.output<typeof configSchema>;
export type BackendConfig = z.output<typeof backendSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type TargetConfig = z.output<typeof targetSchema>;
/** Effective policies, every key set (see `effectivePolicy`). */
export type RetryConfig = { -readonly [K in keyof typeof POLICY_DEFAULTS.retry]: number };
export type BreakerConfig = { -readonly [K in keyof typeof POLICY_DEFAULTS.breaker]: number };
export type BatchingConfig = { -readonly [K in keyof typeof POLICY_DEFAULTS.batching]: number };
export type ConcurrencyConfig = {
  -readonly [K in keyof typeof POLICY_DEFAULTS.concurrency]: number;
};
export type OutlierDetectionConfig = z.output<typeof outlierDetectionSchema>;
type RemoteType = "tfserving" | "torchserve" | "triton";
/**
 * A remote backend's config for ONE replica: `url` and `grpc` are single addresses. The factory
 * splits a backend listing several addresses into one of these per replica.
 */
export type SingleAddressConfig<T extends RemoteType> = Omit<
  Extract<BackendConfig, { type: T }>,
  "url" | "grpc"
> & { url?: string; grpc?: string };
export type CacheConfig = z.output<typeof cacheSchema>;
export { grpcServerSchema, limitsSchema, serverSchema };
export type LimitsConfig = z.output<typeof limitsSchema>;
export type GrpcServerConfig = z.output<typeof grpcServerSchema>;
export type ShadowConfig = z.output<typeof shadowSchema>;
export type RolloutConfig = z.output<typeof rolloutSchema>;
