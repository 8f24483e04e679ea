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
import { OverloadedError } from "../errors.js";
import type { JobLogger, StoreHooks } from "./engine.js";
import { Permits } from "./permits.js";
import { RedisOutbox } from "./redis-outbox.js";
import {
  expireFinished,
  listJobs,
  SWEEP_MS,
  TRANSITION,
  type Transitioner,
  warnOnEviction,
} from "./redis-records.js";
import {
  isFinal,
  JOB_STATUSES,
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
  readonly #p: string;
  readonly #redis: Redis & Transitioner;
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
    this.#p = `${options.keyPrefix}jobs:`;
    this.#ttlMs = options.config.resultTtlSeconds * 1000;
    // Fails fast while Redis is down: a submit or a poll answers 503 instead of hanging.
    const redis = new Redis(options.url, { maxRetriesPerRequest: 1 }) as Redis & Transitioner;
    redis.defineCommand("transition", { numberOfKeys: 1, lua: TRANSITION });
    redis.on("error", () => undefined);
    this.#redis = redis;
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
    });
    this.#queue.on("error", (err) => options.onError(err, "job queue"));
  }

  /** Connects, warns when the jobs Redis may evict keys, and starts delivering webhooks. */
  static async open(options: RedisStoreOptions): Promise<RedisJobStore> {
    const store = new RedisJobStore(options);
    try {
      await store.#redis.ping();
    } catch (err) {
      store.#sub.disconnect();
      store.#redis.disconnect();
      await Promise.allSettled([store.#queue.close(), store.#outbox.close()]);
      throw err;
    }
    await warnOnEviction(store.#redis, options.logger);
    await store.#sub.subscribe(`${store.#p}cancel`);
    store.#sub.on("message", (_channel: string, id: string) => {
      store.#running.get(id)?.abort(new Error("job cancelled"));
    });
    store.#outbox.start();
    store.#sweep = setInterval(() => {
      expireFinished(store.#redis, store.#p).catch((err: unknown) =>
        options.onError(err, "expiry sweep"),
      );
    }, SWEEP_MS);
    store.#sweep.unref();
    return store;
  }

  async add(job: JobRecord, maxQueued: number): Promise<{ job: JobRecord; created: boolean }> {
    const r = this.#redis;
    if (job.idempotencyKey !== undefined) {
      const idemKey = `${this.#p}idem:${job.tenant}:${job.idempotencyKey}`;
      for (let attempt = 0; attempt < 3; attempt++) {
        const set = await r.set(idemKey, job.id, "PX", this.#ttlMs, "NX");
        if (set === "OK") break;
        const existing = await r.get(idemKey);
        const found = existing === null ? undefined : await this.get(existing, job.tenant);
        if (found !== undefined) return { job: found, created: false };
        // The first job expired: the key is this submit's now.
        await r.del(idemKey);
      }
    }
    if ((await r.zcard(`${this.#p}g:queued`)) >= maxQueued) {
      throw new OverloadedError(`${maxQueued} async jobs are queued; try again later`, 5);
    }
    const seq = await r.incr(`${this.#p}seq`);
    const member = `${job.tenant}|${job.id}`;
    await r
      .multi()
      .set(this.#key(job.id), JSON.stringify(job))
      .zadd(`${this.#p}t:${job.tenant}`, seq, job.id)
      .zadd(`${this.#p}t:${job.tenant}:queued`, seq, job.id)
      .zadd(`${this.#p}g:queued`, job.createdAt, member)
      .exec();
    try {
      await this.#queue.add(
        RUN,
        { id: job.id },
        { jobId: job.id, removeOnComplete: true, removeOnFail: true },
      );
    } catch (err) {
      await r.del(this.#key(job.id));
      throw err;
    }
    this.#o.onChange(job, undefined);
    return { job, created: true };
  }

  async get(id: string, tenant: string): Promise<JobRecord | undefined> {
    const text = await this.#redis.get(this.#key(id));
    if (text === null) return undefined;
    const job = JSON.parse(text) as JobRecord;
    return job.tenant === tenant ? job : undefined;
  }

  list(query: ListQuery): Promise<JobPage> {
    return listJobs(this.#redis, this.#p, query);
  }

  async cancel(id: string, tenant: string): Promise<JobRecord | undefined> {
    const job = await this.get(id, tenant);
    if (job === undefined || isFinal(job.status)) return job;
    const from = job.status;
    const now = Date.now();
    const next: JobRecord = {
      ...job,
      status: "cancelled",
      finishedAt: now,
      expiresAt: now + this.#ttlMs,
    };
    const moved = await this.#transition(next, ["queued", "running"]);
    if (!moved.ok) return moved.job;
    await this.#redis.publish(`${this.#p}cancel`, id);
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

  async counts(): Promise<Record<JobStatus, number>> {
    await expireFinished(this.#redis, this.#p);
    const multi = this.#redis.multi();
    for (const status of JOB_STATUSES) multi.zcard(`${this.#p}g:${status}`);
    const results = (await multi.exec()) ?? [];
    const out = {} as Record<JobStatus, number>;
    JOB_STATUSES.forEach((status, i) => {
      out[status] = Number(results[i]?.[1] ?? 0);
    });
    return out;
  }

  async close(graceMs: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#sweep);
    this.#permits.close();
    const hooks = this.#outbox.close();
    const closing = Promise.all(this.#workers.map((w) => w.close()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closing, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    // Still running: handed back to the queue (#process), for this or another replica.
    for (const controller of this.#running.values())
      controller.abort(new Error("gateway stopping"));
    await closing;
    await Promise.allSettled([this.#queue.close(), hooks]);
    this.#sub.disconnect();
    this.#redis.disconnect();
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
    const text = await this.#redis.get(this.#key(id));
    if (text === null) return;
    const job = JSON.parse(text) as JobRecord;
    if (isFinal(job.status)) return;
    // "running" too: a job whose replica died is taken over here.
    const from = job.status;
    const running: JobRecord = { ...job, status: "running", startedAt: Date.now() };
    const moved = await this.#transition(running, ["queued", "running"]);
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
      await this.#transition({ ...running, status: "queued" }, ["running"]);
      await bull.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    const now = Date.now();
    const done: JobRecord = {
      ...running,
      status: outcome.kind,
      finishedAt: now,
      expiresAt: now + this.#ttlMs,
    };
    if (outcome.version !== undefined) done.version = outcome.version;
    if (outcome.kind === "succeeded") done.result = outcome.result;
    else done.error = outcome.error;
    const finished = await this.#transition(done, ["running"]);
    if (!finished.ok) return;
    this.#o.onChange(done, "running");
    await this.#outbox.add(done);
  }

  async #transition(
    job: JobRecord,
    allowed: JobStatus[],
  ): Promise<{ ok: true } | { ok: false; job: JobRecord | undefined }> {
    const final = isFinal(job.status);
    const answer = await this.#redis.transition(
      this.#key(job.id),
      allowed.join(","),
      JSON.stringify(job),
      job.status,
      this.#p,
      final ? this.#ttlMs : 0,
      final ? job.expiresAt : job.createdAt,
    );
    if (answer === null) return { ok: false, job: undefined };
    if (answer[0] === 1) return { ok: true };
    return { ok: false, job: JSON.parse(answer[1]) as JobRecord };
  }

  #key(id: string): string {
    return `${this.#p}job:${id}`;
  }
}
