/**
 * The embedded job store's file (better-sqlite3, WAL): opening it under an exclusive lock, and
 * every read and write of the `jobs` table (sqlite-schema.ts).
 * The store (sqlite-store.ts) decides what runs when; this file only knows rows.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { expiryColumn, SCHEMA } from "./sqlite-schema.js";
import { isFinal, type JobPage, type JobRecord, type JobStatus, type ListQuery } from "./types.js";

interface Row {
  seq: number;
  doc: string;
}

const parse = (row: Row): JobRecord => JSON.parse(row.doc) as JobRecord;

/** True for a finished job whose result time is over. */
export function isExpired(job: JobRecord, now = Date.now()): boolean {
  return isFinal(job.status) && job.expiresAt <= now;
}

/** The `jobs` table of one `jobs.db`. */
export class JobTable {
  /** The open file, for the webhook outbox's own table. */
  readonly db: Database.Database;

  /**
   * Opens (or creates) `dir/jobs.db`. The exclusive lock comes first: a second process on the
   * same directory fails here instead of running the same jobs twice.
   */
  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    // No waiting on a lock: the only other holder is another process that owns the directory.
    this.db = new Database(join(dir, "jobs.db"), { timeout: 100 });
    this.db.pragma("locking_mode = EXCLUSIVE");
    this.db.pragma("journal_mode = WAL");
    // WAL + NORMAL: a commit survives a process crash; only an OS crash may lose the last ones.
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(SCHEMA);
  }

  /** Runs `fn` in one transaction (committed before it returns). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Jobs that were running when the last process died go back to the queue (at-least-once). */
  requeueRunning(): void {
    this.transaction(() => {
      for (const row of this.db
        .prepare("SELECT seq, doc FROM jobs WHERE status = 'running'")
        .all() as Row[]) {
        const job = parse(row);
        job.status = "queued";
        delete job.startedAt;
        this.write(job);
      }
    });
  }

  /** The live job the tenant's Idempotency-Key names; an expired one is deleted on the way. */
  byIdempotencyKey(tenant: string, key: string): JobRecord | undefined {
    const row = this.db
      .prepare("SELECT seq, doc FROM jobs WHERE tenant = ? AND idem = ?")
      .get(tenant, key) as Row | undefined;
    if (row === undefined) return undefined;
    const found = parse(row);
    if (!isExpired(found)) return found;
    this.db.prepare("DELETE FROM jobs WHERE seq = ?").run(row.seq);
    return undefined;
  }

  queuedCount(): number {
    return (
      this.db.prepare("SELECT count(*) AS n FROM jobs WHERE status = 'queued'").get() as {
        n: number;
      }
    ).n;
  }

  insert(job: JobRecord): void {
    this.db
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
  }

  /** The job with this id, whoever's and however old. */
  byId(id: string): JobRecord | undefined {
    const row = this.db.prepare("SELECT seq, doc FROM jobs WHERE id = ?").get(id) as
      | Row
      | undefined;
    return row === undefined ? undefined : parse(row);
  }

  /** A page of the tenant's live jobs, newest first. */
  list(query: ListQuery): JobPage {
    const before = query.after === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor(query.after);
    const now = Date.now();
    const rows = (
      query.status === undefined
        ? this.db
            .prepare(
              "SELECT seq, doc FROM jobs WHERE tenant = ? AND seq < ? AND expires_at > ? ORDER BY seq DESC LIMIT ?",
            )
            .all(query.tenant, before, now, query.limit + 1)
        : this.db
            .prepare(
              "SELECT seq, doc FROM jobs WHERE tenant = ? AND status = ? AND seq < ? AND expires_at > ? ORDER BY seq DESC LIMIT ?",
            )
            .all(query.tenant, query.status, before, now, query.limit + 1)
    ) as Row[];
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    const next = rows.length > query.limit && last !== undefined ? encodeCursor(last.seq) : null;
    return { data: page.map(parse), next };
  }

  /** The oldest queued job, if any. */
  oldestQueued(): JobRecord | undefined {
    const row = this.db
      .prepare("SELECT seq, doc FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1")
      .get() as Row | undefined;
    return row === undefined ? undefined : parse(row);
  }

  /** Stores `job` over its row (status, expiry and record). */
  write(job: JobRecord): void {
    this.db
      .prepare("UPDATE jobs SET status = ?, expires_at = ?, doc = ? WHERE id = ?")
      .run(job.status, expiryColumn(job), JSON.stringify(job), job.id);
  }

  /** Live jobs per status, for the statuses that have any. */
  counts(): Array<{ status: JobStatus; n: number }> {
    return this.db
      .prepare("SELECT status, count(*) AS n FROM jobs WHERE expires_at > ? GROUP BY status")
      .all(Date.now()) as Array<{ status: JobStatus; n: number }>;
  }

  /** Deletes finished jobs whose result time is over. */
  expire(): void {
    this.db
      .prepare(
        "DELETE FROM jobs WHERE expires_at <= ? AND status IN ('succeeded', 'failed', 'cancelled')",
      )
      .run(Date.now());
  }

  close(): void {
    this.db.close();
  }
}
