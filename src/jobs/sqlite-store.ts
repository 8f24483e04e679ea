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
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { OverloadedError } from "../errors.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import {
  type DeliveryOutcome,
  type DeliveryPolicy,
  newDeliveryId,
  type Sender,
} from "./delivery.js";
import { SqliteOutbox } from "./sqlite-outbox.js";
import { expiryColumn, SCHEMA } from "./sqlite-schema.js";
import {
  isFinal,
  JOB_STATUSES,
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

interface Row {
  seq: number;
  doc: string;
}

/** The embedded, durable job store. */
export class SqliteJobStore implements JobStore {
  readonly kind = "sqlite";
  readonly #db: Database.Database;
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
    mkdirSync(options.dir, { recursive: true });
    // No waiting on a lock: the only other holder is another process that owns the directory.
    this.#db = new Database(join(options.dir, "jobs.db"), { timeout: 100 });
    // Exclusive lock first: a second process on the same file fails here.
    this.#db.pragma("locking_mode = EXCLUSIVE");
    this.#db.pragma("journal_mode = WAL");
    // WAL + NORMAL: a commit survives a process crash; only an OS crash may lose the last ones.
    this.#db.pragma("synchronous = NORMAL");
    this.#db.exec(SCHEMA);
    // Jobs that were running when the last process died run again (at-least-once).
    this.#db.transaction(() => {
      for (const row of this.#db
        .prepare("SELECT seq, doc FROM jobs WHERE status = 'running'")
        .all() as Row[]) {
        const job = JSON.parse(row.doc) as JobRecord;
        job.status = "queued";
        delete job.startedAt;
        this.#write(job);
      }
    })();
    this.#expire();
    this.#sweep = setInterval(() => this.#guard(() => this.#expire(), "expiry sweep"), SWEEP_MS);
    this.#sweep.unref();
    this.#outbox = new SqliteOutbox(
      this.#db,
      options.webhooks === undefined
        ? undefined
        : {
            ...options.webhooks,
            ...(options.onError === undefined ? {} : { onError: options.onError }),
          },
    );
  }

  async add(job: JobRecord, maxQueued: number): Promise<{ job: JobRecord; created: boolean }> {
    return this.#db.transaction(() => {
      if (job.idempotencyKey !== undefined) {
        const row = this.#db
          .prepare("SELECT seq, doc FROM jobs WHERE tenant = ? AND idem = ?")
          .get(job.tenant, job.idempotencyKey) as Row | undefined;
        if (row !== undefined) {
          const found = JSON.parse(row.doc) as JobRecord;
          if (!this.#expired(found)) return { job: found, created: false };
          this.#db.prepare("DELETE FROM jobs WHERE seq = ?").run(row.seq);
        }
      }
      const queued = this.#db
        .prepare("SELECT count(*) AS n FROM jobs WHERE status = 'queued'")
        .get() as { n: number };
      if (queued.n >= maxQueued) {
        throw new OverloadedError(`${maxQueued} async jobs are queued; try again later`, 5);
      }
      this.#db
        .prepare(
          "INSERT INTO jobs (id, tenant, status, idem, expires_at, doc) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .run(
          job.id,
          job.tenant,
          job.status,
          job.idempotencyKey ?? null,
          expiryColumn(job),
          JSON.stringify(job),
        );
      this.#options.onChange?.(job, undefined);
      queueMicrotask(() => this.#pump());
      return { job, created: true };
    })();
  }

  async get(id: string, tenant: string): Promise<JobRecord | undefined> {
    const row = this.#db.prepare("SELECT seq, doc FROM jobs WHERE id = ?").get(id) as
      | Row
      | undefined;
    if (row === undefined) return undefined;
    const job = JSON.parse(row.doc) as JobRecord;
    return job.tenant === tenant && !this.#expired(job) ? job : undefined;
  }

  async list(query: ListQuery): Promise<JobPage> {
    const before = query.after === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor(query.after);
    const now = Date.now();
    const rows = (
      query.status === undefined
        ? this.#db
            .prepare(
              "SELECT seq, doc FROM jobs WHERE tenant = ? AND seq < ? AND expires_at > ? ORDER BY seq DESC LIMIT ?",
            )
            .all(query.tenant, before, now, query.limit + 1)
        : this.#db
            .prepare(
              "SELECT seq, doc FROM jobs WHERE tenant = ? AND status = ? AND seq < ? AND expires_at > ? ORDER BY seq DESC LIMIT ?",
            )
            .all(query.tenant, query.status, before, now, query.limit + 1)
    ) as Row[];
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    const next = rows.length > query.limit && last !== undefined ? encodeCursor(last.seq) : null;
    return { data: page.map((r) => JSON.parse(r.doc) as JobRecord), next };
  }

  async cancel(id: string, tenant: string): Promise<JobRecord | undefined> {
    const job = await this.get(id, tenant);
    if (job === undefined || isFinal(job.status)) return job;
    const from = job.status;
    this.#finish(job, { kind: "failed", error: { code: "CANCELLED", message: "" } }, "cancelled");
    // A running job's handler sees the abort; its late outcome is ignored (#complete).
    this.#running.get(id)?.abort(new Error("job cancelled"));
    this.#options.onChange?.(job, from);
    return job;
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
    const out = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    const rows = this.#db
      .prepare("SELECT status, count(*) AS n FROM jobs WHERE expires_at > ? GROUP BY status")
      .all(Date.now()) as Array<{ status: JobStatus; n: number }>;
    for (const row of rows) out[row.status] = row.n;
    return out;
  }

  async close(graceMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    const all = Promise.allSettled([...this.#settled]);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([all, grace]);
    clearTimeout(timer);
    // Still running: aborted; their rows stay `running` and are queued again at the next open.
    for (const controller of this.#running.values())
      controller.abort(new Error("gateway stopping"));
    await all;
    this.#outbox.close();
    this.#db.close();
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
    return this.#db.transaction(() => {
      const row = this.#db
        .prepare("SELECT seq, doc FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1")
        .get() as Row | undefined;
      if (row === undefined) return undefined;
      const job = JSON.parse(row.doc) as JobRecord;
      job.status = "running";
      job.startedAt = Date.now();
      this.#write(job);
      this.#options.onChange?.(job, "queued");
      return job;
    })();
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
    this.#db.transaction(() => {
      const row = this.#db.prepare("SELECT seq, doc FROM jobs WHERE id = ?").get(id) as
        | Row
        | undefined;
      if (row === undefined) return;
      const job = JSON.parse(row.doc) as JobRecord;
      if (job.status !== "running") return;
      this.#finish(job, outcome, outcome.kind);
      this.#options.onChange?.(job, "running");
    })();
  }

  /** Moves `job` to a final status and queues its webhook, in the caller's transaction. */
  #finish(job: JobRecord, outcome: JobOutcome, status: "succeeded" | "failed" | "cancelled"): void {
    const now = Date.now();
    job.status = status;
    job.finishedAt = now;
    job.expiresAt = now + this.#options.resultTtlMs;
    if (outcome.version !== undefined) job.version = outcome.version;
    if (status === "succeeded" && outcome.kind === "succeeded") job.result = outcome.result;
    if (status === "failed" && outcome.kind === "failed") job.error = outcome.error;
    this.#write(job);
    if (job.webhook !== undefined) {
      this.#outbox.add({
        id: newDeliveryId(),
        jobId: job.id,
        url: job.webhook.url,
        payload: eventJson(job, now),
        attempts: 0,
      });
    }
  }

  #write(job: JobRecord): void {
    this.#db
      .prepare("UPDATE jobs SET status = ?, expires_at = ?, doc = ? WHERE id = ?")
      .run(job.status, expiryColumn(job), JSON.stringify(job), job.id);
  }

  #expired(job: JobRecord): boolean {
    return isFinal(job.status) && job.expiresAt <= Date.now();
  }

  #expire(): void {
    this.#db
      .prepare(
        "DELETE FROM jobs WHERE expires_at <= ? AND status IN ('succeeded', 'failed', 'cancelled')",
      )
      .run(Date.now());
  }

  #guard(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      this.#options.onError?.(err, what);
    }
  }
}
