/**
 * The batch keys of the `jobs` block (docs/batch.md): execution bounds, the Postgres hosts a
 * batch request may name, and schedules. Cron expressions are checked here so `infergate
 * validate` reports a bad one with its path.
 */
import { Cron } from "croner";
import { z } from "zod";
import { isTimeZone } from "../io/placeholders.js";

const positiveInt = z.number().int().positive();

/** `host`, `*.example.com` or either with `:port`; matched case-insensitively. */
export const hostPattern = z
  .string()
  .regex(
    /^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/i,
    "expected host, *.domain or host:port",
  );

export const batchSettingsSchema = z.strictObject({
  /** Records read ahead, predicted and checkpointed together. */
  chunkRecords: positiveInt.max(65_536).default(512),
  /** Rows concatenated into one infer call (records with the same input shapes). */
  rowsPerCall: positiveInt.max(65_536).default(256),
  /** Batch infer calls in flight at once per backend, all batches of this process together. */
  inFlightPerTarget: positiveInt.max(256).default(2),
  /** Batches running at once in this process; others wait queued. */
  concurrency: positiveInt.max(64).default(2),
  /** With Redis, a file batch is split into shards of this many records, run by any replica. */
  shardRecords: positiveInt.max(100_000_000).default(50_000),
  /** A backend outage pauses a batch (retrying with backoff) for up to this long, then fails it. */
  outageTimeoutMs: positiveInt.max(24 * 3600 * 1000).default(600_000),
});

export const postgresAccessSchema = z.strictObject({
  /** Hosts (`host`, `*.domain`, optionally `:port`) a batch request's Postgres URL may name. */
  allowedHosts: z.array(hostPattern).default([]),
});

const locationSchema = z.union([
  z.strictObject({
    path: z.string().min(1),
    format: z.enum(["jsonl", "csv", "parquet"]).optional(),
  }),
  z.strictObject({
    postgres: z.strictObject({
      url: z.string().regex(/^postgres(ql)?:\/\//, "expected postgres:// URL"),
      query: z.string().min(1).optional(),
      table: z.string().min(1).optional(),
    }),
  }),
]);

/** True when croner accepts the expression. */
function cronError(expression: string): string | undefined {
  try {
    new Cron(expression, { paused: true });
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export const scheduleSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "expected 1-64 of A-Z a-z 0-9 _ . -"),
    cron: z.string().min(1),
    timezone: z.string().default("UTC"),
    model: z.string().min(1),
    version: z.string().min(1).optional(),
    input: locationSchema,
    output: locationSchema,
    format: z.enum(["jsonl", "csv", "parquet"]).optional(),
    idField: z.string().min(1).optional(),
    maxErrors: z.number().int().nonnegative().optional(),
  })
  .superRefine((s, ctx) => {
    const error = cronError(s.cron);
    if (error !== undefined) ctx.addIssue({ code: "custom", path: ["cron"], message: error });
    if (!isTimeZone(s.timezone)) {
      ctx.addIssue({ code: "custom", path: ["timezone"], message: "unknown time zone" });
    }
  });

export const schedulesSchema = z.array(scheduleSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((s, i) => {
    if (seen.has(s.name)) {
      ctx.addIssue({ code: "custom", path: [i, "name"], message: "duplicate schedule name" });
    }
    seen.add(s.name);
  });
});

/** A schedule, defaults applied. */
export type ScheduleConfig = z.output<typeof scheduleSchema>;
/** The batch execution settings. */
export type BatchSettings = z.output<typeof batchSettingsSchema>;
