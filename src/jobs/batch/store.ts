/**
 * The embedded batch store: one SQLite file beside the async job store (`jobs.dir/batches.db`).
 * Each batch row holds its spec, status, counts and last checkpoint, written after every flushed
 * chunk; WAL mode survives a killed process with every committed checkpoint intact.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { decodeCursor, encodeCursor } from "../cursor.js";
import type { BatchPage, BatchRecord, BatchStatus } from "./types.js";

export type { BatchPage };

interface Row {
  seq: number;
  data: string;
}

/** Batches in SQLite. */
export class SqliteBatchStore {
  readonly #db: Database.Database;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.#db = new Database(join(dir, "batches.db"), { timeout: 1000 });
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = NORMAL");
    this.#db.exec(
      `CREATE TABLE IF NOT EXISTS batches (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         id TEXT NOT NULL UNIQUE,
         tenant TEXT NOT NULL,
         status TEXT NOT NULL,
         data TEXT NOT NULL)`,
    );
  }

  /** Stores a new batch. */
  add(batch: BatchRecord): void {
    this.#db
      .prepare("INSERT INTO batches (id, tenant, status, data) VALUES (?, ?, ?, ?)")
      .run(batch.id, batch.tenant, batch.status, JSON.stringify(batch));
  }

  /** Replaces a batch's stored state. */
  put(batch: BatchRecord): void {
    this.#db
      .prepare("UPDATE batches SET status = ?, data = ? WHERE id = ?")
      .run(batch.status, JSON.stringify(batch), batch.id);
  }

  /** The batch, or undefined. */
  get(id: string, tenant?: string): BatchRecord | undefined {
    const row = this.#db.prepare("SELECT seq, data FROM batches WHERE id = ?").get(id) as
      | Row
      | undefined;
    if (row === undefined) return undefined;
    const batch = JSON.parse(row.data) as BatchRecord;
    return tenant === undefined || batch.tenant === tenant ? batch : undefined;
  }

  /** Batches in the given statuses, oldest first (what a restart resumes). */
  inStatus(statuses: readonly BatchStatus[]): BatchRecord[] {
    const marks = statuses.map(() => "?").join(", ");
    const rows = this.#db
      .prepare(`SELECT seq, data FROM batches WHERE status IN (${marks}) ORDER BY seq`)
      .all(...statuses) as Row[];
    return rows.map((r) => JSON.parse(r.data) as BatchRecord);
  }

  /** A page of the tenant's batches, newest first. */
  list(tenant: string, limit: number, after?: string): BatchPage {
    const before = after === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor(after);
    const rows = this.#db
      .prepare(
        "SELECT seq, data FROM batches WHERE tenant = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
      )
      .all(tenant, before, limit + 1) as Row[];
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map((r) => JSON.parse(r.data) as BatchRecord),
      next: rows.length > limit && last !== undefined ? encodeCursor(last.seq) : null,
    };
  }

  /** Counts by status, for the metrics. */
  counts(): Partial<Record<BatchStatus, number>> {
    const rows = this.#db
      .prepare("SELECT status, COUNT(*) AS n FROM batches GROUP BY status")
      .all() as { status: BatchStatus; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  close(): void {
    this.#db.close();
  }
}
