/**
 * Webhook deliveries of the embedded store (sqlite-store.ts): one row per pending event in the
 * jobs file, written in the transaction that finishes the job, so a crash cannot drop one. A
 * timer sends the due ones; an attempt in flight holds a lease on its row (its `next_at` moved
 * past the attempt's timeout), so it is neither sent twice nor lost if the process dies mid-call.
 */
import type Database from "better-sqlite3";
import {
  type Delivery,
  type DeliveryOutcome,
  type DeliveryPolicy,
  nextStep,
  type Sender,
} from "./delivery.js";

/** Longest sleep of the delivery timer; it re-reads the table at least this often. */
const POLL_MS = 1000;

/** What the outbox needs besides the database. */
export interface OutboxOptions {
  send: Sender;
  policy: DeliveryPolicy;
  onOutcome?: (o: DeliveryOutcome) => void;
  onError?: (err: unknown, what: string) => void;
}

/** The deliveries table and the loop that sends it. */
export class SqliteOutbox {
  readonly #db: Database.Database;
  readonly #options: OutboxOptions | undefined;
  readonly #sending = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** `options` undefined: deliveries are stored but not sent. */
  constructor(db: Database.Database, options: OutboxOptions | undefined) {
    this.#db = db;
    this.#options = options;
    db.exec(`
CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, next_at INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(next_at);`);
    this.#schedule(0);
  }

  /** Stores a delivery, due now; call inside the transaction that finishes its job. */
  add(delivery: Delivery): void {
    this.#db
      .prepare("INSERT INTO deliveries (id, next_at, doc) VALUES (?, ?, ?)")
      .run(delivery.id, Date.now(), JSON.stringify(delivery));
    queueMicrotask(() => this.#schedule(0));
  }

  /**
   * Stops sending. Attempts in flight are not waited for: their rows are due again at once, so
   * the next start sends them again (same webhook-id: receivers deduplicate on it).
   */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    const due = this.#db.prepare("UPDATE deliveries SET next_at = ? WHERE id = ?");
    for (const id of this.#sending.keys()) due.run(Date.now(), id);
  }

  #schedule(ms: number): void {
    if (this.#closed || this.#options === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => this.#guard(() => this.#sendDue()),
      Math.max(0, Math.min(ms, POLL_MS)),
    );
    this.#timer.unref();
  }

  /** Starts the due deliveries there is room for, then sleeps until the next one is due. */
  #sendDue(): void {
    const options = this.#options;
    if (options === undefined || this.#closed) return;
    const { policy } = options;
    const now = Date.now();
    const room = policy.concurrency - this.#sending.size;
    if (room > 0) {
      const rows = this.#db
        .prepare("SELECT doc FROM deliveries WHERE next_at <= ? ORDER BY next_at LIMIT ?")
        .all(now, room) as Array<{ doc: string }>;
      for (const row of rows) this.#start(JSON.parse(row.doc) as Delivery, options, now);
    }
    const next = this.#db.prepare("SELECT min(next_at) AS at FROM deliveries").get() as {
      at: number | null;
    };
    if (next.at !== null) this.#schedule(next.at - now);
  }

  #start(delivery: Delivery, options: OutboxOptions, now: number): void {
    this.#db
      .prepare("UPDATE deliveries SET next_at = ? WHERE id = ?")
      .run(now + options.policy.leaseMs, delivery.id);
    const attempt = options
      .send(delivery)
      .then((result) => {
        if (this.#closed) return;
        this.#guard(() => {
          const made = delivery.attempts + 1;
          const step = nextStep(result, made, options.policy);
          if (step.done) {
            this.#db.prepare("DELETE FROM deliveries WHERE id = ?").run(delivery.id);
            options.onOutcome?.(step.outcome);
            return;
          }
          options.onOutcome?.("retry");
          this.#db
            .prepare("UPDATE deliveries SET next_at = ?, doc = ? WHERE id = ?")
            .run(
              Date.now() + step.delayMs,
              JSON.stringify({ ...delivery, attempts: made }),
              delivery.id,
            );
        });
      })
      .finally(() => {
        this.#sending.delete(delivery.id);
        this.#schedule(0);
      });
    this.#sending.set(delivery.id, attempt);
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#options?.onError?.(err, "webhook delivery");
    }
  }
}
