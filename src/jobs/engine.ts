/**
 * The async job engine: one API over either store (embedded SQLite, or BullMQ on Redis when
 * `jobs.redis` or `redis` is set), with the metrics, logs and submit-time checks that do not
 * depend on the store. See docs/async.md.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import type { GatewayConfig } from "../config/schema.js";
import { JobNotFoundError } from "../errors.js";
import type { InferenceService } from "../gateway/types.js";
import type { Scheduler } from "./batch/schedules.js";
import { startBatches } from "./batch/setup.js";
import type { Batches } from "./batch/types.js";
import { changeRecorder } from "./change-log.js";
import type { JobsConfig } from "./config.js";
import type { JobMetrics } from "./metrics.js";
import { serviceHandler } from "./runner.js";
import { SqliteJobStore } from "./sqlite-store.js";
import type { JobLogger, StoreHooks } from "./store-hooks.js";
import { newJobRecord, type SubmitInput } from "./submit.js";
import { LoadThrottle } from "./throttle.js";
import type { JobPage, JobRecord, JobStore, ListQuery } from "./types.js";
import { unavailableOnFailure } from "./unavailable.js";
import { webhookSender } from "./webhook.js";

/** Options of {@link JobEngine.start}. */
export interface JobEngineOptions {
  /** The config at start; `jobs.*` and the jobs Redis take effect on restart. */
  config: GatewayConfig;
  service: () => InferenceService;
  metrics: JobMetrics;
  logger: JobLogger;
  /** A store to use instead of the configured one (tests). */
  store?: (hooks: StoreHooks) => JobStore | Promise<JobStore>;
}

const RETRY_OPEN_MS = 5000;
/** A delivery attempt's lease outlasts its timeout by this much. */
const LEASE_MARGIN_MS = 5000;
const DISCOVER_MS = 2000;

/** The engine behind the async API. */
export class JobEngine {
  readonly #options: JobEngineOptions;
  readonly #hooks: StoreHooks;
  #store: JobStore | undefined;
  #opening: Promise<JobStore> | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  /** How many jobs run at once: the CPU live traffic leaves (throttle.ts). */
  readonly #throttle: LoadThrottle;
  #probe: Redis | undefined;
  /** Batch inference jobs (docs/batch.md). */
  readonly batches: Batches;
  /** The configured batch schedules. */
  readonly schedules: Scheduler;

  private constructor(options: JobEngineOptions) {
    this.#options = options;
    const { logger, metrics } = options;
    ({ batches: this.batches, schedules: this.schedules } = startBatches(options));
    metrics.setCountSource("batch", async () => this.batches.counts());
    const config = options.config.jobs;
    this.#throttle = new LoadThrottle({
      max: config.concurrency,
      onChange: (allowed) => this.#store?.setConcurrency(allowed),
    });
    this.#hooks = {
      config,
      onChange: changeRecorder(logger, metrics),
      webhooks: {
        send: webhookSender(() => config.webhooks),
        policy: {
          maxAttempts: config.webhooks.maxAttempts,
          retryBaseMs: config.webhooks.retryBaseMs,
          concurrency: config.webhooks.concurrency,
          leaseMs: config.webhooks.timeoutMs + LEASE_MARGIN_MS,
        },
        onOutcome: (outcome) => metrics.webhookDeliveries.inc({ outcome }),
      },
      onError: (err, what) => logger.error({ err }, `async jobs: ${what} failed`),
    };
  }

  /**
   * Starts the engine. The embedded store is opened now when its file exists (jobs from before a
   * restart resume), else on the first submit, so a gateway that never takes an async job leaves
   * no files behind.
   */
  static async start(options: JobEngineOptions): Promise<JobEngine> {
    const engine = new JobEngine(options);
    const jobs = options.config.jobs;
    if (options.store !== undefined || existsSync(join(resolve(jobs.dir), "jobs.db"))) {
      if (jobs.redis === undefined && options.config.redis === undefined) await engine.#open();
    }
    if (jobs.redis !== undefined) {
      engine.#openInBackground();
    } else if (options.config.redis !== undefined) {
      // A shared cache Redis: join the job queue once anyone submitted a job there, so a
      // gateway that never sees async work adds no queue traffic to its cache.
      engine.#discover(options.config.redis.url, options.config.redis.keyPrefix);
    }
    return engine;
  }

  /** The jobs config in force. */
  get config(): JobsConfig {
    return this.#hooks.config;
  }

  /** Creates a job (or returns the one its Idempotency-Key names). */
  async submit(input: SubmitInput): Promise<{ job: JobRecord; created: boolean }> {
    const config = this.#hooks.config;
    const job = newJobRecord(input, config);
    return unavailableOnFailure(async () => (await this.#open()).add(job, config.maxQueued));
  }

  /** The job; JOB_NOT_FOUND when unknown, another tenant's or expired. */
  async get(id: string, tenant: string): Promise<JobRecord> {
    const job = await unavailableOnFailure(async () => (await this.#opened())?.get(id, tenant));
    if (job === undefined) throw new JobNotFoundError(id);
    return job;
  }

  /** A page of the tenant's jobs, newest first. */
  async list(query: ListQuery): Promise<JobPage> {
    const page = await unavailableOnFailure(async () => (await this.#opened())?.list(query));
    return page ?? { data: [], next: null };
  }

  /** Cancels a queued or running job; a finished one comes back as it is. */
  async cancel(id: string, tenant: string): Promise<JobRecord> {
    const job = await unavailableOnFailure(async () => (await this.#opened())?.cancel(id, tenant));
    if (job === undefined) throw new JobNotFoundError(id);
    return job;
  }

  /** Stops taking jobs and lets running ones finish for up to `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#throttle.stop();
    this.#probe?.disconnect();
    this.#options.metrics.setCountSource("async", undefined);
    this.#options.metrics.setCountSource("batch", undefined);
    await this.schedules.stop();
    await this.batches.close();
    const store = this.#store ?? (await this.#opening?.catch(() => undefined));
    await store?.close(graceMs);
  }

  /**
   * The store for a read or a cancel: on Redis it is opened on demand (the job may come from
   * another replica); the embedded store is never created just to answer "not found".
   */
  async #opened(): Promise<JobStore | undefined> {
    if (this.#store !== undefined) return this.#store;
    const { config } = this.#options;
    if (config.jobs.redis !== undefined || config.redis !== undefined) return this.#open();
    return undefined;
  }

  /** Opens the store now, retrying every few seconds while its Redis cannot be reached. */
  #openInBackground(): void {
    this.#open().catch((err: unknown) => {
      if (this.#closed) return;
      this.#options.logger.warn({ err }, "async jobs: the jobs Redis is unreachable; retrying");
      this.#retry = setTimeout(() => this.#openInBackground(), RETRY_OPEN_MS);
      this.#retry.unref();
    });
  }

  /** Polls for job keys in the cache Redis; opens the store once there are any. */
  #discover(url: string, keyPrefix: string): void {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    probe.on("error", () => undefined);
    this.#probe = probe;
    const check = async () => {
      if (this.#closed || this.#store !== undefined) return probe.disconnect();
      try {
        if ((await probe.exists(`${keyPrefix}jobs:seq`)) === 1) {
          probe.disconnect();
          this.#openInBackground();
          return;
        }
      } catch {
        // Redis down: the cache copes, and so does this; look again later.
      }
      this.#retry = setTimeout(() => void check(), DISCOVER_MS);
      this.#retry.unref();
    };
    void check();
  }

  #open(): Promise<JobStore> {
    if (this.#store !== undefined) return Promise.resolve(this.#store);
    if (this.#closed) return Promise.reject(new Error("the job engine is stopped"));
    this.#opening ??= this.#create().then(
      (store) => {
        this.#store = store;
        const handler = serviceHandler(
          this.#options.service,
          (err, job) =>
            this.#options.logger.error(
              { err, jobId: job.id },
              "async job failed with an internal error",
            ),
          () => this.#options.config.server.limits,
        );
        store.start(handler, this.#throttle.allowed);
        this.#throttle.start();
        this.#options.metrics.setCountSource("async", () => store.counts());
        this.#options.logger.info({ store: store.kind }, "async jobs ready");
        return store;
      },
      (err: unknown) => {
        this.#opening = undefined;
        throw err;
      },
    );
    return this.#opening;
  }

  async #create(): Promise<JobStore> {
    const { config, store } = this.#options;
    if (store !== undefined) return store(this.#hooks);
    const redis = config.jobs.redis ?? config.redis;
    if (redis !== undefined) {
      const { RedisJobStore } = await import("./redis-store.js");
      const keyPrefix = config.jobs.redis?.keyPrefix ?? config.redis?.keyPrefix ?? "infergate:";
      return RedisJobStore.open({
        url: redis.url,
        keyPrefix,
        ...this.#hooks,
        logger: this.#options.logger,
      });
    }
    return new SqliteJobStore({
      dir: resolve(config.jobs.dir),
      resultTtlMs: config.jobs.resultTtlSeconds * 1000,
      ...this.#hooks,
    });
  }
}
