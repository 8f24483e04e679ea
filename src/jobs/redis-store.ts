/**
 * Jobs on Redis through BullMQ (docs/async.md "Several replicas on Redis"): any replica accepts,
 * runs, reports and cancels any job. BullMQ queues and runs them; a replica that dies mid-job
 * stops renewing its lock and BullMQ's stalled-job check hands the job to another replica. Job
 * records, results and listing indexes are plain keys beside the queue:
 *
 * - `{p}job:{id}`: the record (JSON); finished ones expire after the result TTL;
 * - `{p}t:{tenant}` and `{p}t:{tenant}:{status}`: sorted sets of ids by submit order (listing);
 * - `{p}g:{status}`: every tenant's jobs per status (counts, `maxQueued`, expiry sweep);
 * - `{p}idem:{tenant}:{key}`: Idempotency-Key -> job id, for the result TTL.
 *
 * State changes are one Lua script each that checks the current status, so a cancel and a
 * finishing run on two replicas cannot both win. Webhook deliveries are a second BullMQ queue with
 * the retry schedule as its backoff.
 */
import { DelayedError, type Job, Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { Permits } from "./permits.js";
import { RedisOutbox } from "./redis-outbox.js";
import { RedisJobRecords, SWEEP_MS } from "./redis-records.js";
import type { JobLogger, StoreHooks } from "./store-hooks.js";
import { finishedRecord, stopRuns } from "./transitions.js";
import {
  isFinal,
  type JobHandler,
  type JobOutcome,
  type JobPage,
  type JobRecord,
  type JobStatus,
  type JobStore,
  type ListQuery,
} from "./types.js";

/** Options of {@link RedisJobStore.open}. */
export interface RedisStoreOptions extends StoreHooks {
  url: string;
  keyPrefix: string;
  logger: JobLogger;
}

/** BullMQ queue names, and the name of their jobs. */
const JOBS_QUEUE = "async";
const RUN = "run";

/** The BullMQ-backed store. */
export class RedisJobStore implements JobStore {
  readonly kind = "redis";
  readonly #o: RedisStoreOptions;
  readonly #records: RedisJobRecords;
  readonly #sub: Redis;
  readonly #queue: Queue;
  readonly #outbox: RedisOutbox;
  readonly #running = new Map<string, AbortController>();
  readonly #workers: Worker[] = [];
  /**
   * BullMQ runs up to jobs.concurrency processors; the throttle's lower allowance is applied
   * here, before a job is marked running.
   */
  readonly #permits = new Permits(1);
  readonly #ttlMs: number;
  #sweep: NodeJS.Timeout | undefined;
  #closing = false;

  private constructor(options: RedisStoreOptions) {
    this.#o = options;
    this.#ttlMs = options.config.resultTtlSeconds * 1000;
    this.#records = new RedisJobRecords(options.url, options.keyPrefix, this.#ttlMs);
    this.#sub = new Redis(options.url, { maxRetriesPerRequest: null });
    this.#sub.on("error", () => undefined);
    const connection = { url: options.url, maxRetriesPerRequest: 1 };
    const prefix = `${options.keyPrefix}bull`;
    this.#queue = new Queue(JOBS_QUEUE, { connection, prefix });
    this.#outbox = new RedisOutbox({
      url: options.url,
      prefix,
      ...options.webhooks,
      onError: options.onError,
      keepMs: this.#ttlMs,
    });
    this.#queue.on("error", (err) => options.onError(err, "job queue"));
  }

  /** Connects, warns when the jobs Redis may evict keys, and starts delivering webhooks. */
  static async open(options: RedisStoreOptions): Promise<RedisJobStore> {
    const store = new RedisJobStore(options);
    const records = store.#records;
    try {
      await records.open(options.logger);
    } catch (err) {
      store.#sub.disconnect();
      records.disconnect();
      await Promise.allSettled([store.#queue.close(), store.#outbox.close()]);
      throw err;
    }
    await store.#sub.subscribe(`${records.prefix}cancel`);
    store.#sub.on("message", (_channel: string, id: string) => {
      store.#running.get(id)?.abort(new Error("job cancelled"));
    });
    store.#outbox.start();
    store.#sweep = setInterval(() => {
      records.expire().catch((err: unknown) => options.onError(err, "expiry sweep"));
    }, SWEEP_MS);
    store.#sweep.unref();
    return store;
  }

  async add(job: JobRecord, maxQueued: number): Promise<{ job: JobRecord; created: boolean }> {
    const records = this.#records;
    if (job.idempotencyKey !== undefined) {
      const found = await records.claimIdempotencyKey(job, job.idempotencyKey);
      if (found !== undefined) return { job: found, created: false };
    }
    await records.insert(job, maxQueued);
    try {
      await this.#queue.add(
        RUN,
        { id: job.id },
        { jobId: job.id, removeOnComplete: true, removeOnFail: true },
      );
    } catch (err) {
      await records.remove(job.id);
      throw err;
    }
    this.#o.onChange(job, undefined);
    return { job, created: true };
  }

  get(id: string, tenant: string): Promise<JobRecord | undefined> {
    return this.#records.load(id, tenant);
  }

  list(query: ListQuery): Promise<JobPage> {
    return this.#records.list(query);
  }

  async cancel(id: string, tenant: string): Promise<JobRecord | undefined> {
    const job = await this.get(id, tenant);
    if (job === undefined || isFinal(job.status)) return job;
    const from = job.status;
    const next = finishedRecord(job, "cancelled", Date.now(), this.#ttlMs);
    const moved = await this.#records.transition(next, ["queued", "running"]);
    if (!moved.ok) return moved.job;
    await this.#records.publishCancel(id);
    // A queued job leaves the queue now; a running one ends when its replica sees the message.
    if (from === "queued") await this.#queue.remove(id).catch(() => 0);
    this.#o.onChange(next, from);
    await this.#outbox.add(next);
    return next;
  }

  start(handler: JobHandler, concurrency: number): void {
    const { config } = this.#o;
    this.#permits.resize(concurrency);
    const worker = new Worker(JOBS_QUEUE, (job, token) => this.#process(handler, job, token), {
      connection: { url: this.#o.url, maxRetriesPerRequest: null },
      prefix: `${this.#o.keyPrefix}bull`,
      concurrency: Math.max(concurrency, config.concurrency),
      lockDuration: config.lockDurationMs,
      stalledInterval: Math.max(250, Math.floor(config.lockDurationMs / 2)),
      maxStalledCount: 100,
    });
    worker.on("error", (err) => this.#o.onError(err, "job worker"));
    this.#workers.push(worker);
  }

  setConcurrency(concurrency: number): void {
    this.#permits.resize(concurrency);
  }

  counts(): Promise<Record<JobStatus, number>> {
    return this.#records.counts();
  }

  async close(graceMs: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#sweep);
    this.#permits.close();
    const hooks = this.#outbox.close();
    // Still running at the end of the grace: handed back to the queue (#process), for this or
    // another replica.
    await stopRuns(
      Promise.all(this.#workers.map((w) => w.close())),
      graceMs,
      this.#running.values(),
    );
    await Promise.allSettled([this.#queue.close(), hooks]);
    this.#sub.disconnect();
    this.#records.disconnect();
  }

  /** BullMQ's processor: one run of one job, on any replica. */
  async #process(handler: JobHandler, bull: Job, token: string | undefined): Promise<void> {
    if (!(await this.#permits.acquire())) {
      await bull.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    try {
      await this.#runOne(handler, bull, token);
    } finally {
      this.#permits.release();
    }
  }

  async #runOne(handler: JobHandler, bull: Job, token: string | undefined): Promise<void> {
    const id = String((bull.data as { id?: unknown }).id);
    const job = await this.#records.load(id);
    if (job === undefined) return;
    // Finished already: its replica may have died between recording that and queueing the
    // webhook (a no-op when it did queue it).
    if (isFinal(job.status)) return this.#outbox.add(job);
    // "running" too: a job whose replica died is taken over here.
    const from = job.status;
    const running: JobRecord = { ...job, status: "running", startedAt: Date.now() };
    const moved = await this.#records.transition(running, ["queued", "running"]);
    if (!moved.ok) return;
    // From "running" when this replica takes over a job whose replica died.
    this.#o.onChange(running, from);
    const controller = new AbortController();
    this.#running.set(id, controller);
    let outcome: JobOutcome;
    try {
      outcome = await handler(running, controller.signal);
    } finally {
      this.#running.delete(id);
    }
    if (this.#closing && controller.signal.aborted) {
      // Stopping: back to the queue (at once), for this or another replica.
      await this.#records.transition({ ...running, status: "queued" }, ["running"]);
      await bull.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    const done = finishedRecord(running, outcome.kind, Date.now(), this.#ttlMs, outcome);
    const finished = await this.#records.transition(done, ["running"]);
    if (!finished.ok) {
      // Cancelled meanwhile: the replica that cancelled may have died before queueing its event.
      if (finished.job !== undefined && isFinal(finished.job.status)) {
        await this.#outbox.add(finished.job);
      }
      return;
    }
    this.#o.onChange(done, "running");
    await this.#outbox.add(done);
  }
}
