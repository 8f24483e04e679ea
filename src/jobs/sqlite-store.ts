/**
 * The embedded job store: jobs, results and webhook deliveries in one SQLite file under
 * `jobs.dir` (better-sqlite3, WAL). Every state change is one transaction, committed before it is
 * acknowledged, so a crash (kill -9) loses nothing that was answered: at the next start, jobs that
 * were running are queued again and pending deliveries resume.
 *
 * The file is locked exclusively (`locking_mode = EXCLUSIVE`): a second gateway on the same
 * directory fails to start instead of running the same jobs twice. Several replicas share jobs
 * through Redis instead (redis-store.ts).
 */
import {
  type DeliveryOutcome,
  type DeliveryPolicy,
  newDeliveryId,
  type Sender,
} from "./delivery.js";
import { SqliteOutbox } from "./sqlite-outbox.js";
import { isExpired, JobTable } from "./sqlite-table.js";
import {
  type FinalStatus,
  finishedRecord,
  queueFullError,
  stopRuns,
  zeroCounts,
} from "./transitions.js";
import {
  isFinal,
  type JobHandler,
  type JobListener,
  type JobOutcome,
  type JobPage,
  type JobRecord,
  type JobStatus,
  type JobStore,
  type ListQuery,
} from "./types.js";
import { eventJson } from "./view.js";

/** Options of {@link SqliteJobStore}. */
export interface SqliteStoreOptions {
  dir: string;
  resultTtlMs: number;
  onChange?: JobListener;
  /** Webhook sending; absent = deliveries are stored but not sent (tests). */
  webhooks?: { send: Sender; policy: DeliveryPolicy; onOutcome?: (o: DeliveryOutcome) => void };
  /** Called with errors of background work (a failed sweep, a failed delivery update). */
  onError?: (err: unknown, what: string) => void;
}

const SWEEP_MS = 60_000;

/** The embedded, durable job store. */
export class SqliteJobStore implements JobStore {
  readonly kind = "sqlite";
  readonly #table: JobTable;
  readonly #options: SqliteStoreOptions;
  readonly #running = new Map<string, AbortController>();
  readonly #outbox: SqliteOutbox;
  #handler: JobHandler | undefined;
  #concurrency = 0;
  #closed = false;
  #sweep: NodeJS.Timeout | undefined;
  readonly #settled = new Set<Promise<void>>();

  constructor(options: SqliteStoreOptions) {
    this.#options = options;
    this.#table = new JobTable(options.dir);
    this.#table.requeueRunning();
    this.#table.expire();
    this.#sweep = setInterval(
      () => this.#guard(() => this.#table.expire(), "expiry sweep"),
      SWEEP_MS,
    );
    this.#sweep.unref();
    this.#outbox = new SqliteOutbox(
      this.#table.db,
      options.webhooks === undefined
        ? undefined
        : {
            ...options.webhooks,
            ...(options.onError === undefined ? {} : { onError: options.onError }),
          },
    );
  }

  async add(job: JobRecord, maxQueued: number): Promise<{ job: JobRecord; created: boolean }> {
    const table = this.#table;
    return table.transaction(() => {
      if (job.idempotencyKey !== undefined) {
        const found = table.byIdempotencyKey(job.tenant, job.idempotencyKey);
        if (found !== undefined) return { job: found, created: false };
      }
      if (table.queuedCount() >= maxQueued) throw queueFullError(maxQueued);
      table.insert(job);
      this.#options.onChange?.(job, undefined);
      queueMicrotask(() => this.#pump());
      return { job, created: true };
    });
  }

  async get(id: string, tenant: string): Promise<JobRecord | undefined> {
    const job = this.#table.byId(id);
    return job !== undefined && job.tenant === tenant && !isExpired(job) ? job : undefined;
  }

  async list(query: ListQuery): Promise<JobPage> {
    return this.#table.list(query);
  }

  async cancel(id: string, tenant: string): Promise<JobRecord | undefined> {
    const job = await this.get(id, tenant);
    if (job === undefined || isFinal(job.status)) return job;
    const from = job.status;
    const cancelled = this.#finish(job, "cancelled");
    // A running job's handler sees the abort; its late outcome is ignored (#complete).
    this.#running.get(id)?.abort(new Error("job cancelled"));
    this.#options.onChange?.(cancelled, from);
    return cancelled;
  }

  start(handler: JobHandler, concurrency: number): void {
    this.#handler = handler;
    this.#concurrency = concurrency;
    this.#pump();
  }

  setConcurrency(concurrency: number): void {
    this.#concurrency = concurrency;
    this.#pump();
  }

  async counts(): Promise<Record<JobStatus, number>> {
    const out = zeroCounts();
    for (const row of this.#table.counts()) out[row.status] = row.n;
    return out;
  }

  async close(graceMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    // Still running at the end of the grace: aborted; their rows stay `running` and are queued
    // again at the next open.
    await stopRuns(Promise.allSettled([...this.#settled]), graceMs, this.#running.values());
    this.#outbox.close();
    this.#table.close();
  }

  /** Starts queued jobs, oldest first, while there is room. */
  #pump(): void {
    const handler = this.#handler;
    if (handler === undefined || this.#closed) return;
    while (this.#running.size < this.#concurrency) {
      const job = this.#claim();
      if (job === undefined) return;
      const controller = new AbortController();
      this.#running.set(job.id, controller);
      const run = this.#run(handler, job, controller.signal).finally(() => {
        this.#running.delete(job.id);
        this.#settled.delete(run);
        this.#pump();
      });
      this.#settled.add(run);
    }
  }

  #claim(): JobRecord | undefined {
    return this.#table.transaction(() => {
      const job = this.#table.oldestQueued();
      if (job === undefined) return undefined;
      job.status = "running";
      job.startedAt = Date.now();
      this.#table.write(job);
      this.#options.onChange?.(job, "queued");
      return job;
    });
  }

  async #run(handler: JobHandler, job: JobRecord, signal: AbortSignal): Promise<void> {
    let outcome: JobOutcome;
    try {
      outcome = await handler(job, signal);
    } catch (err) {
      outcome = {
        kind: "failed",
        error: { code: "INTERNAL", message: "internal error" },
      };
      this.#options.onError?.(err, "job handler");
    }
    // Stopping: the job stays `running` in the file and runs again at the next start.
    if (this.#closed && signal.aborted) return;
    this.#complete(job.id, outcome);
  }

  /** Records a run's outcome unless the job was cancelled (or expired) meanwhile. */
  #complete(id: string, outcome: JobOutcome): void {
    this.#table.transaction(() => {
      const job = this.#table.byId(id);
      if (job === undefined || job.status !== "running") return;
      this.#options.onChange?.(this.#finish(job, outcome.kind, outcome), "running");
    });
  }

  /** Moves `job` to a final status and queues its webhook, in the caller's transaction. */
  #finish(job: JobRecord, status: FinalStatus, outcome?: JobOutcome): JobRecord {
    const now = Date.now();
    const done = finishedRecord(job, status, now, this.#options.resultTtlMs, outcome);
    this.#table.write(done);
    if (done.webhook !== undefined) {
      this.#outbox.add({
        id: newDeliveryId(),
        jobId: done.id,
        url: done.webhook.url,
        payload: eventJson(done, now),
        attempts: 0,
      });
    }
    return done;
  }

  #guard(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      this.#options.onError?.(err, what);
    }
  }
}
