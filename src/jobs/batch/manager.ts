/**
 * The batch manager: stores batches (embedded SQLite), runs up to `jobs.batch.concurrency` of
 * them at once in this process, resumes interrupted ones from their checkpoints on start, and
 * sends the completion webhook. See docs/batch.md.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { GatewayConfig } from "../../config/schema.js";
import { JobNotFoundError } from "../../errors.js";
import type { InferenceService } from "../../gateway/types.js";
import type { BatchMetrics } from "./metrics.js";
import { notifyBatch } from "./notify.js";
import { runBatch } from "./run.js";
import { TargetSlots } from "./slots.js";
import { type BatchPage, SqliteBatchStore } from "./store.js";
import { batchErrorsPath } from "./tenant-files.js";
import { type Batches, type BatchRecord, type BatchSpec, isFinal } from "./types.js";

/** The logger the manager writes to. */
export interface BatchLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Options of {@link BatchManager}. */
export interface BatchManagerOptions {
  readonly config: GatewayConfig;
  readonly service: () => InferenceService;
  readonly logger: BatchLogger;
  readonly metrics?: BatchMetrics;
}

/** Batches of this process. */
export class BatchManager implements Batches {
  readonly #options: BatchManagerOptions;
  #store: SqliteBatchStore | undefined;
  readonly #slots: TargetSlots;
  readonly #running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  readonly #queue: string[] = [];
  #closed = false;

  constructor(options: BatchManagerOptions) {
    this.#options = options;
    this.#slots = new TargetSlots(options.config.jobs.batch.inFlightPerTarget);
    // Batches from before a restart resume now; a gateway that never ran one leaves no file.
    if (existsSync(join(resolve(options.config.jobs.dir), "batches.db"))) this.#resume();
  }

  /** The jobs config in force. */
  get config(): GatewayConfig["jobs"] {
    return this.#options.config.jobs;
  }

  /** The data directory batch paths are relative to. */
  get dataDir(): string {
    return resolve(this.#options.config.jobs.dataDir);
  }

  #open(): SqliteBatchStore {
    this.#store ??= new SqliteBatchStore(resolve(this.#options.config.jobs.dir));
    return this.#store;
  }

  #resume(): void {
    const store = this.#open();
    for (const batch of store.inStatus(["cancelling"])) {
      this.#finish(batch, { status: "cancelled" });
    }
    for (const batch of store.inStatus(["validating", "queued", "running", "finalizing"])) {
      this.#options.logger.info({ batchId: batch.id, counts: batch.counts }, "batch resumes");
      this.#queue.push(batch.id);
    }
    this.#pump();
  }

  /** Creates a batch (checked by the caller) and queues it. */
  create(spec: BatchSpec, tenant: string): BatchRecord {
    // Unknown models and versions fail now, not in the batch.
    this.#options.service().resolve(spec.model, spec.version, () => undefined);
    const id = `batch_${randomUUID().replaceAll("-", "")}`;
    const errors = batchErrorsPath(spec.output, id, tenant);
    const batch: BatchRecord = {
      id,
      tenant,
      status: "queued",
      spec,
      counts: { total: null, done: 0, failed: 0 },
      errorsPath: errors,
      createdAt: Date.now(),
    };
    this.#open().add(batch);
    this.#queue.push(id);
    this.#pump();
    return batch;
  }

  /** The batch; JOB_NOT_FOUND when unknown or another tenant's. */
  get(id: string, tenant: string): BatchRecord {
    const batch = this.#store?.get(id, tenant);
    if (batch === undefined) throw new JobNotFoundError(id);
    return batch;
  }

  /** A page of batches, newest first. */
  list(tenant: string, limit: number, after?: string): BatchPage {
    return this.#store?.list(tenant, limit, after) ?? { data: [], next: null };
  }

  /** Cancels a batch; a finished one comes back as it is. */
  cancel(id: string, tenant: string): BatchRecord {
    const batch = this.get(id, tenant);
    if (isFinal(batch.status)) return batch;
    const running = this.#running.get(id);
    if (running === undefined) {
      const at = this.#queue.indexOf(id);
      if (at !== -1) this.#queue.splice(at, 1);
      return this.#finish(batch, { status: "cancelled" });
    }
    const cancelling = this.#save({ ...batch, status: "cancelling" });
    running.abort.abort("cancel");
    return cancelling;
  }

  /** Counts by status (metrics). */
  counts(): Partial<Record<string, number>> {
    return this.#store?.counts() ?? {};
  }

  /** Stops running batches at their last checkpoint (they resume on the next start). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const { abort } of this.#running.values()) abort.abort("stop");
    await Promise.all([...this.#running.values()].map((r) => r.done));
    this.#store?.close();
  }

  #save(batch: BatchRecord): BatchRecord {
    this.#open().put(batch);
    return batch;
  }

  #finish(batch: BatchRecord, change: Partial<BatchRecord>): BatchRecord {
    const done = this.#save({ ...batch, ...change, finishedAt: Date.now() });
    this.#options.metrics?.batchesTotal.inc({ outcome: done.status });
    void notifyBatch(
      done,
      this.#options.config.jobs.webhooks,
      this.#options.metrics,
      () => this.#closed,
    );
    return done;
  }

  #pump(): void {
    const limit = this.#options.config.jobs.batch.concurrency;
    while (!this.#closed && this.#running.size < limit) {
      const id = this.#queue.shift();
      if (id === undefined) return;
      const abort = new AbortController();
      const done = this.#run(id, abort.signal)
        .catch((err: unknown) => this.#options.logger.error({ err, batchId: id }, "batch crashed"))
        .finally(() => {
          this.#running.delete(id);
          this.#pump();
        });
      this.#running.set(id, { abort, done });
    }
  }

  async #run(id: string, signal: AbortSignal): Promise<void> {
    const stored = this.#open().get(id);
    if (stored === undefined || isFinal(stored.status)) return;
    const { config } = this.#options;
    const started = Date.now();
    const startDone = stored.counts.done;
    let batch = this.#save({
      ...stored,
      status: "running",
      startedAt: stored.startedAt ?? started,
    });
    const metrics = this.#options.metrics;
    const model = stored.spec.model;
    const result = await runBatch({
      id,
      spec: batch.spec,
      service: this.#options.service(),
      inputDir: this.dataDir,
      outputDir: this.dataDir,
      errorsPath: batch.errorsPath,
      settings: config.jobs.batch,
      slots: this.#slots,
      limits: config.server.limits,
      signal,
      ...(batch.checkpoints ? { checkpoints: batch.checkpoints } : {}),
      onCheckpoint: async (progress) => {
        const seconds = (Date.now() - started) / 1000;
        const newDone = progress.counts.done - batch.counts.done;
        const newFailed = progress.counts.failed - batch.counts.failed;
        metrics?.records.inc({ model, outcome: "succeeded" }, newDone - newFailed);
        if (newFailed > 0) metrics?.records.inc({ model, outcome: "failed" }, newFailed);
        batch = this.#save({
          ...batch,
          version: progress.version,
          counts: progress.counts,
          checkpoints: progress.checkpoints,
          recordsPerSecond: seconds > 0 ? (progress.counts.done - startDone) / seconds : 0,
        });
      },
      onPause: (paused, error) =>
        this.#options.logger.warn(
          { batchId: id, code: error.code },
          paused ? "batch paused: backend outage" : "batch resumed",
        ),
    });
    if (result.kind === "stopped") return;
    const counts = result.counts;
    if (result.kind === "succeeded") this.#finish(batch, { status: "succeeded", counts });
    else if (result.kind === "cancelled") this.#finish(batch, { status: "cancelled", counts });
    else if (result.kind === "failed") {
      this.#finish(batch, { status: "failed", counts, error: result.error });
    }
  }
}
