/**
 * Batches on Redis (docs/batch.md "Several replicas"): the batch object and each shard's
 * checkpoint live in Redis; the work is a BullMQ flow, one child job per shard and a finalizing
 * parent that concatenates the parts in order once every shard is done. Any replica runs any
 * shard; a replica that dies mid-shard stops renewing its lock, BullMQ's stalled check hands the
 * shard to another, and that one resumes from the shard's last checkpoint — so every record still
 * lands exactly once, in order. The data directory must be shared by the replicas.
 */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { FlowProducer, type Job, Queue, Worker } from "bullmq";
import type { GatewayConfig } from "../../config/schema.js";
import { JobNotFoundError } from "../../errors.js";
import type { InferenceService } from "../../gateway/types.js";
import { unavailableOnFailure } from "../unavailable.js";
import { countRecords } from "./count.js";
import { finishedBatch, joinParts } from "./finalize.js";
import type { BatchLogger } from "./manager.js";
import type { BatchMetrics } from "./metrics.js";
import { notifyBatch } from "./notify.js";
import { RedisBatchStore, type ShardState } from "./redis-store.js";
import { runBatch } from "./run.js";
import { planShards, removeParts, type ShardPlan, shardSpec } from "./shards.js";
import { TargetSlots } from "./slots.js";
import { batchErrorsPath } from "./tenant-files.js";
import type { BatchCounts, Batches, BatchPage, BatchRecord, BatchSpec } from "./types.js";
import { isFinal } from "./types.js";

const SHARDS_QUEUE = "batch-shards";
const FINAL_QUEUE = "batch-final";
/** A shard job that failed (its replica stopping, Redis blips) is retried this many times. */
const SHARD_ATTEMPTS = 1000;

/** Options of {@link RedisBatches}. */
export interface RedisBatchesOptions {
  readonly config: GatewayConfig;
  readonly service: () => InferenceService;
  readonly logger: BatchLogger;
  readonly metrics?: BatchMetrics;
  readonly url: string;
  readonly keyPrefix: string;
}

interface ShardData {
  readonly id: string;
  readonly shard: ShardPlan;
}

/** Batches split into shards that any replica runs. */
export class RedisBatches implements Batches {
  readonly #o: RedisBatchesOptions;
  readonly #store: RedisBatchStore;
  readonly #flow: FlowProducer;
  readonly #queue: Queue;
  readonly #workers: Worker[] = [];
  readonly #slots: TargetSlots;
  readonly #running = new Set<AbortController>();
  #closed = false;

  constructor(options: RedisBatchesOptions) {
    this.#o = options;
    this.#store = new RedisBatchStore(options.url, options.keyPrefix);
    const connection = { url: options.url, maxRetriesPerRequest: null };
    const prefix = `${options.keyPrefix}bull`;
    this.#flow = new FlowProducer({ connection, prefix });
    this.#queue = new Queue(SHARDS_QUEUE, { connection, prefix });
    this.#slots = new TargetSlots(options.config.jobs.batch.inFlightPerTarget);
    const { jobs } = options.config;
    const workerOptions = {
      connection,
      prefix,
      lockDuration: jobs.lockDurationMs,
      stalledInterval: Math.max(250, Math.floor(jobs.lockDurationMs / 2)),
      maxStalledCount: 100,
    };
    const shards = new Worker<ShardData>(SHARDS_QUEUE, (job) => this.#runShard(job), {
      ...workerOptions,
      concurrency: jobs.batch.concurrency,
    });
    const finals = new Worker<{ id: string; shards: ShardPlan[] }>(
      FINAL_QUEUE,
      (job) => this.#finalize(job.data.id, job.data.shards),
      { ...workerOptions, concurrency: 1 },
    );
    for (const w of [shards, finals]) {
      w.on("error", (err) => options.logger.error({ err }, "batch worker failed"));
      this.#workers.push(w);
    }
  }

  get config(): GatewayConfig["jobs"] {
    return this.#o.config.jobs;
  }

  get dataDir(): string {
    return resolve(this.#o.config.jobs.dataDir);
  }

  create(spec: BatchSpec, tenant: string): Promise<BatchRecord> {
    return unavailableOnFailure(() => this.#create(spec, tenant), "batch");
  }

  async #create(spec: BatchSpec, tenant: string): Promise<BatchRecord> {
    this.#o.service().resolve(spec.model, spec.version, () => undefined);
    const id = `batch_${randomUUID().replaceAll("-", "")}`;
    const errors = batchErrorsPath(spec.output, id, tenant);
    const total = await countRecords(spec.input, spec.format ?? "jsonl", this.dataDir);
    const batch: BatchRecord = {
      id,
      tenant,
      status: "queued",
      spec,
      counts: { total, done: 0, failed: 0 },
      errorsPath: errors,
      createdAt: Date.now(),
    };
    const shards = planShards(id, spec, total, this.config.batch.shardRecords, errors);
    batch.shards = shards.length;
    await this.#store.add(batch);
    await this.#flow.add({
      name: "finalize",
      queueName: FINAL_QUEUE,
      data: { id, shards },
      opts: { jobId: id },
      children: shards.map((shard) => ({
        name: "shard",
        queueName: SHARDS_QUEUE,
        data: { id, shard },
        opts: {
          jobId: `${id}-${shard.index}`,
          attempts: SHARD_ATTEMPTS,
          backoff: { type: "fixed", delay: 500 },
        },
      })),
    });
    return batch;
  }

  get(id: string, tenant: string): Promise<BatchRecord> {
    return unavailableOnFailure(() => this.#get(id, tenant), "batch");
  }

  async #get(id: string, tenant: string): Promise<BatchRecord> {
    const batch = await this.#store.load(id);
    if (batch === undefined || batch.tenant !== tenant) throw new JobNotFoundError(id);
    return batch;
  }

  list(tenant: string, limit: number, after?: string): Promise<BatchPage> {
    return unavailableOnFailure(() => this.#store.list(tenant, limit, after), "batch");
  }

  cancel(id: string, tenant: string): Promise<BatchRecord> {
    return unavailableOnFailure(() => this.#cancel(id, tenant), "batch");
  }

  async #cancel(id: string, tenant: string): Promise<BatchRecord> {
    const batch = await this.#get(id, tenant);
    if (isFinal(batch.status)) return batch;
    if (batch.status === "queued") {
      // Its shards see a final status and do nothing; the finalizer too.
      const cancelled = await this.#store.save({
        ...batch,
        status: "cancelled",
        finishedAt: Date.now(),
      });
      this.#ended(cancelled);
      return cancelled;
    }
    // Running shards see "cancelling" at their next checkpoint; the finalizer then ends it.
    return this.#store.save({ ...batch, status: "cancelling" });
  }

  async counts(): Promise<Partial<Record<string, number>>> {
    const waiting = await this.#queue.getJobCounts("waiting", "active", "delayed");
    // Shards, across replicas: queue depth is what waits.
    return {
      queued: (waiting.waiting ?? 0) + (waiting.delayed ?? 0),
      running: waiting.active ?? 0,
    };
  }

  async #runShard(job: Job<ShardData>): Promise<void> {
    const { id, shard } = job.data;
    let batch = await this.#store.load(id);
    if (batch === undefined || isFinal(batch.status) || batch.status === "cancelling") return;
    if (batch.status === "queued") {
      batch = await this.#store.save({ ...batch, status: "running", startedAt: Date.now() });
    }
    const spec = shardSpec(batch.spec, shard);
    const state = await this.#store.shardState(id, shard.index);
    this.#o.logger.info(
      { batchId: id, shard: shard.index, from: state?.counts.done ?? 0 },
      "batch shard running",
    );
    const abort = new AbortController();
    this.#running.add(abort);
    const base = shard.start;
    let last: BatchCounts = state?.counts ?? { total: null, done: 0, failed: 0 };
    try {
      const result = await runBatch({
        id: shard.part === undefined ? id : `${id}-${shard.index}`,
        spec,
        service: this.#o.service(),
        inputDir: this.dataDir,
        outputDir: this.dataDir,
        errorsPath: shard.errorsPath,
        settings: this.config.batch,
        slots: this.#slots,
        limits: this.#o.config.server.limits,
        signal: abort.signal,
        range: { start: base, count: shard.count },
        ...(state ? { checkpoints: state.checkpoints } : {}),
        onCheckpoint: async ({ counts, checkpoints, version }) => {
          const saved: ShardState = { checkpoints, counts, version };
          await this.#store.saveShardState(id, shard.index, saved);
          const newFailed = counts.failed - last.failed;
          const newDone = counts.done - last.done;
          last = counts;
          this.#o.metrics?.records.inc(
            { model: spec.model, outcome: "succeeded" },
            newDone - newFailed,
          );
          if (newFailed > 0)
            this.#o.metrics?.records.inc({ model: spec.model, outcome: "failed" }, newFailed);
          const current = await this.#store.load(id);
          if (current?.status === "cancelling") abort.abort("cancel");
          else if (current !== undefined && !isFinal(current.status)) {
            await this.#store.save(await this.#store.withShardCounts(current));
          }
        },
      });
      if (result.kind === "stopped")
        throw new Error("the replica is stopping; the shard goes back to the queue");
      if (result.kind === "failed") {
        const current = (await this.#store.load(id)) ?? batch;
        this.#ended(
          await this.#store.save({
            ...current,
            status: "failed",
            error: result.error,
            finishedAt: Date.now(),
          }),
        );
      }
      if (result.kind === "succeeded") {
        const current = (await this.#store.load(id)) ?? batch;
        await this.#store.save(await this.#store.withShardCounts(current));
      }
    } finally {
      this.#running.delete(abort);
    }
  }

  async #finalize(id: string, shards: readonly ShardPlan[]): Promise<void> {
    const batch = await this.#store.load(id);
    if (batch === undefined || isFinal(batch.status)) return;
    if (batch.status === "cancelling") {
      await removeParts(this.dataDir, id);
      this.#ended(
        await this.#store.save({ ...batch, status: "cancelled", finishedAt: Date.now() }),
      );
      return;
    }
    await this.#store.save({ ...batch, status: "finalizing" });
    await joinParts(this.dataDir, batch, shards);
    const finished = await this.#store.save(
      finishedBatch(await this.#store.withShardCounts(batch), Date.now()),
    );
    this.#ended(finished);
    await this.#store.dropShards(id, shards.length);
  }

  /** Metrics and the completion webhook of a batch that just reached a final status. */
  #ended(batch: BatchRecord): void {
    this.#o.metrics?.batchesTotal.inc({ outcome: batch.status });
    void notifyBatch(batch, this.config.webhooks, this.#o.metrics, () => this.#closed);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const abort of this.#running) abort.abort("stop");
    await Promise.all(this.#workers.map((w) => w.close()));
    await Promise.all([this.#flow.close(), this.#queue.close()]);
    this.#store.disconnect();
  }
}
