/**
 * Scheduled batches (docs/batch.md "Schedules"): each `jobs.schedules` entry starts a batch at
 * every cron occurrence (croner, in the schedule's time zone), with `{date}` / `{datetime}` in
 * its paths expanded at that moment.
 */
import { type Job, Queue, Worker } from "bullmq";
import { Cron } from "croner";
import { Redis } from "ioredis";
import { GatewayError } from "../../errors.js";
import type { BatchLocation } from "../io/open.js";
import { expandPathPlaceholders } from "../io/placeholders.js";
import type { ScheduleConfig } from "./config.js";
import type { Batches, BatchRecord, BatchSpec } from "./types.js";

/** A schedule as `GET /v1/schedules` shows it. */
export interface ScheduleView {
  name: string;
  cron: string;
  timezone: string;
  nextRunAt: string | null;
  lastRunAt?: string;
  lastBatchId?: string;
}

function expand(location: BatchLocation, at: Date, zone: string): BatchLocation {
  if ("postgres" in location) return location;
  return { ...location, path: expandPathPlaceholders(location.path, at, zone) };
}

/** The batch a schedule starts at `at`. */
export function scheduledSpec(schedule: ScheduleConfig, at: Date): BatchSpec {
  return {
    model: schedule.model,
    input: expand(schedule.input as BatchLocation, at, schedule.timezone),
    output: expand(schedule.output as BatchLocation, at, schedule.timezone),
    ...(schedule.version === undefined ? {} : { version: schedule.version }),
    ...(schedule.format === undefined ? {} : { format: schedule.format }),
    ...(schedule.idField === undefined ? {} : { idField: schedule.idField }),
    ...(schedule.maxErrors === undefined ? {} : { maxErrors: schedule.maxErrors }),
  };
}

interface Entry {
  readonly config: ScheduleConfig;
  readonly cron: Cron;
  lastRunAt?: Date;
  lastBatchId?: string;
}

/** Where schedules coordinate across replicas (BullMQ job schedulers). */
export interface ScheduleRedis {
  readonly url: string;
  readonly keyPrefix: string;
}

const SCHEDULES_QUEUE = "batch-schedules";

/**
 * The occurrence a scheduler's job stands for. BullMQ keeps it in `prevMillis` (its id's
 * millis). Creation time plus delay is only near it: BullMQ takes the two from separate
 * `Date.now()` reads with the Redis connection awaited between, so a replica that starts while
 * its connection is still opening dated its first job a second late, the same `{datetime}` as
 * the next occurrence's.
 */
function occurrenceOf(job: Job<{ name: string }>): Date {
  return new Date(job.opts.prevMillis ?? job.timestamp + (job.opts.delay ?? 0));
}

/**
 * Runs the configured schedules on one batch runner: croner timers in process, or, with Redis,
 * BullMQ job schedulers — one job per occurrence whichever replicas run, taken by one of them.
 */
export class Scheduler {
  readonly #entries = new Map<string, Entry>();
  /** Only starting batches is the scheduler's business. */
  readonly #batches: Pick<Batches, "create">;
  readonly #onError: (err: unknown, name: string) => void;
  readonly #queue: Queue | undefined;
  readonly #worker: Worker | undefined;
  readonly #redis: Redis | undefined;
  readonly #key: string;

  constructor(
    schedules: readonly ScheduleConfig[],
    batches: Pick<Batches, "create">,
    onError: (err: unknown, name: string) => void,
    redis?: ScheduleRedis,
  ) {
    this.#batches = batches;
    this.#onError = onError;
    this.#key = `${redis?.keyPrefix ?? ""}batches:schedule:`;
    for (const config of schedules) {
      // With Redis the timer only tells the next occurrence; BullMQ fires it.
      const cron =
        redis === undefined
          ? new Cron(config.cron, { timezone: config.timezone, protect: true }, () => {
              this.#start(config.name, new Date()).catch((err: unknown) =>
                this.#onError(err, config.name),
              );
            })
          : new Cron(config.cron, { timezone: config.timezone, paused: true });
      this.#entries.set(config.name, { config, cron });
    }
    if (redis === undefined || schedules.length === 0) return;
    const connection = { url: redis.url, maxRetriesPerRequest: null };
    const prefix = `${redis.keyPrefix}bull`;
    this.#redis = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    this.#redis.on("error", () => undefined);
    this.#queue = new Queue(SCHEDULES_QUEUE, { connection, prefix });
    this.#queue.on("error", (err) => onError(err, "schedules queue"));
    void this.#register(schedules).catch((err: unknown) => onError(err, "schedules"));
    this.#worker = new Worker<{ name: string }>(
      SCHEDULES_QUEUE,
      async (job) => {
        await this.#start(job.data.name, occurrenceOf(job));
      },
      { connection, prefix, concurrency: 1 },
    );
    this.#worker.on("error", (err) => onError(err, "schedules worker"));
  }

  async #register(schedules: readonly ScheduleConfig[]): Promise<void> {
    const queue = this.#queue as Queue;
    for (const s of schedules) {
      await queue.upsertJobScheduler(
        s.name,
        { pattern: s.cron, tz: s.timezone },
        { name: "run", data: { name: s.name } },
      );
    }
    // Schedules dropped from the config stop firing.
    for (const existing of await queue.getJobSchedulers()) {
      const id = existing.key;
      if (!this.#entries.has(id)) await queue.removeJobScheduler(id);
    }
  }

  async #start(name: string, at: Date): Promise<BatchRecord> {
    const entry = this.#entries.get(name);
    if (entry === undefined) {
      throw new GatewayError("JOB_NOT_FOUND", `schedule ${JSON.stringify(name)} not found`);
    }
    const batch = await this.#batches.create(scheduledSpec(entry.config, at), "");
    entry.lastRunAt = at;
    entry.lastBatchId = batch.id;
    await this.#redis?.set(
      `${this.#key}${name}`,
      JSON.stringify({ lastRunAt: at.toISOString(), lastBatchId: batch.id }),
    );
    return batch;
  }

  /** Starts the schedule's batch now. */
  runNow(name: string): Promise<BatchRecord> {
    return this.#start(name, new Date());
  }

  /** Every schedule with its next occurrence and its last run (any replica's, on Redis). */
  async list(): Promise<ScheduleView[]> {
    const views: ScheduleView[] = [];
    for (const e of this.#entries.values()) {
      let last: { lastRunAt?: string; lastBatchId?: string } = {
        ...(e.lastRunAt ? { lastRunAt: e.lastRunAt.toISOString() } : {}),
        ...(e.lastBatchId ? { lastBatchId: e.lastBatchId } : {}),
      };
      const shared = await this.#redis?.get(`${this.#key}${e.config.name}`).catch(() => null);
      if (shared) last = JSON.parse(shared) as typeof last;
      views.push({
        name: e.config.name,
        cron: e.config.cron,
        timezone: e.config.timezone,
        nextRunAt: e.cron.nextRun()?.toISOString() ?? null,
        ...last,
      });
    }
    return views;
  }

  async stop(): Promise<void> {
    for (const e of this.#entries.values()) e.cron.stop();
    await this.#worker?.close();
    await this.#queue?.close();
    this.#redis?.disconnect();
  }
}
