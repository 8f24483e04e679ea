/**
 * Scheduled batches (docs/batch.md "Schedules"): each `jobs.schedules` entry starts a batch at
 * every cron occurrence (croner, in the schedule's time zone), with `{date}` / `{datetime}` in
 * its paths expanded at that moment. In process only: with several replicas each runs its own.
 */
import { Cron } from "croner";
import { JobNotFoundError } from "../../errors.js";
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

/** Runs the configured schedules on one batch manager. */
export class Scheduler {
  readonly #entries = new Map<string, Entry>();
  readonly #batches: Batches;
  readonly #onError: (err: unknown, name: string) => void;

  constructor(
    schedules: readonly ScheduleConfig[],
    batches: Batches,
    onError: (err: unknown, name: string) => void,
  ) {
    this.#batches = batches;
    this.#onError = onError;
    for (const config of schedules) {
      const cron = new Cron(config.cron, { timezone: config.timezone, protect: true }, () => {
        this.#start(config.name, new Date()).catch((err: unknown) =>
          this.#onError(err, config.name),
        );
      });
      this.#entries.set(config.name, { config, cron });
    }
  }

  async #start(name: string, at: Date): Promise<BatchRecord> {
    const entry = this.#entries.get(name);
    if (entry === undefined) throw new JobNotFoundError(`schedule ${name}`);
    const batch = await this.#batches.create(scheduledSpec(entry.config, at), "");
    entry.lastRunAt = at;
    entry.lastBatchId = batch.id;
    return batch;
  }

  /** Starts the schedule's batch now. */
  runNow(name: string): Promise<BatchRecord> {
    return this.#start(name, new Date());
  }

  /** Every schedule with its next occurrence. */
  list(): ScheduleView[] {
    return [...this.#entries.values()].map((e) => ({
      name: e.config.name,
      cron: e.config.cron,
      timezone: e.config.timezone,
      nextRunAt: e.cron.nextRun()?.toISOString() ?? null,
      ...(e.lastRunAt ? { lastRunAt: e.lastRunAt.toISOString() } : {}),
      ...(e.lastBatchId ? { lastBatchId: e.lastBatchId } : {}),
    }));
  }

  stop(): void {
    for (const e of this.#entries.values()) e.cron.stop();
  }
}
