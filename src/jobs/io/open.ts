/**
 * Opens what a batch names: `{"path"}` inside the data directory in a format, or
 * `{"postgres": {"url", "query" | "table"}}`. `format` applies to input and output unless the
 * location carries its own `format`. The errors file sits beside a path output; a Postgres output
 * has no path, so its errors file is the runner's to name (`errorsPath`, inside the data dir).
 */
import { InvalidRequestError } from "../../errors.js";
import { isRecord } from "../../is-record.js";
import { openCsvSink } from "./csv-sink.js";
import { openCsvSource } from "./csv-source.js";
import { errorsPath as errorsPathOf, openErrorsFile, openJsonlSink } from "./jsonl-sink.js";
import { openJsonlSource } from "./jsonl-source.js";
import { openParquetSink } from "./parquet-sink.js";
import { openParquetSource } from "./parquet-source.js";
import { resolveDataPath } from "./paths.js";
import { openPostgresSink } from "./pg-sink.js";
import { openPostgresSource } from "./pg-source.js";
import {
  type ErrorSink,
  IO_FORMATS,
  type IoFormat,
  type RecordSink,
  type RecordSource,
  type SinkCheckpoint,
  type SinkOptions,
  type SourceOptions,
} from "./types.js";

/** A file inside the data directory. */
export interface PathLocation {
  readonly path: string;
  readonly format?: IoFormat;
}

/** A Postgres query (input) or table (output). */
export interface PostgresLocation {
  readonly postgres: { readonly url: string; readonly query?: string; readonly table?: string };
  readonly format?: undefined;
}

/** A batch's `input` or `output`. */
export type BatchLocation = PathLocation | PostgresLocation;

function isFormat(value: unknown): value is IoFormat {
  return typeof value === "string" && (IO_FORMATS as readonly string[]).includes(value);
}

/** Checks a request's `format` value (default `jsonl`). */
export function parseFormat(value: unknown, field = "format"): IoFormat {
  if (value === undefined || value === null) return "jsonl";
  if (!isFormat(value)) {
    throw new InvalidRequestError(`"${field}" must be one of ${IO_FORMATS.join(", ")}`);
  }
  return value;
}

function nonEmpty(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidRequestError(`"${field}" must be a non-empty string`);
  }
  return value;
}

/** Validates a request's `input` or `output` value. */
export function parseLocation(value: unknown, role: "input" | "output"): BatchLocation {
  if (!isRecord(value)) {
    throw new InvalidRequestError(`"${role}" must be {"path"} or {"postgres": {...}}`);
  }
  if (value.path !== undefined) {
    const format =
      value.format === undefined ? undefined : parseFormat(value.format, `${role}.format`);
    return { path: nonEmpty(value.path, `${role}.path`), ...(format ? { format } : {}) };
  }
  const pgValue = value.postgres;
  if (!isRecord(pgValue)) {
    throw new InvalidRequestError(`"${role}" must be {"path"} or {"postgres": {...}}`);
  }
  const url = nonEmpty(pgValue.url, `${role}.postgres.url`);
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new InvalidRequestError(`"${role}.postgres.url" must be a postgres:// URL`);
  }
  return role === "input"
    ? { postgres: { url, query: nonEmpty(pgValue.query, "input.postgres.query") } }
    : { postgres: { url, table: nonEmpty(pgValue.table, "output.postgres.table") } };
}

function formatOf(location: PathLocation, format: IoFormat | undefined): IoFormat {
  return location.format ?? format ?? "jsonl";
}

/** Opens a batch's input. */
export async function openBatchSource(
  location: BatchLocation,
  format: IoFormat | undefined,
  dataDir: string,
  options: SourceOptions,
): Promise<RecordSource> {
  if ("postgres" in location) {
    const query = nonEmpty(location.postgres.query, "input.postgres.query");
    return openPostgresSource({ url: location.postgres.url, query }, options);
  }
  const path = await resolveDataPath(dataDir, location.path);
  switch (formatOf(location, format)) {
    case "jsonl":
      return openJsonlSource(path, options);
    case "csv":
      return openCsvSource(path, options);
    case "parquet":
      return openParquetSource(path, options);
  }
}

/** Checkpoints of a batch's two sinks, taken at the same flush. */
export interface OutputCheckpoints {
  readonly output: SinkCheckpoint;
  readonly errors: SinkCheckpoint;
}

/** Options for opening a batch's output. */
export interface OutputOptions extends Omit<SinkOptions, "checkpoint"> {
  /** The batch id (tags Postgres rows so resume and abort touch only this batch's rows). */
  readonly batchId: string;
  /** Resume after these checkpoints. */
  readonly checkpoints?: OutputCheckpoints;
  /** The errors file, relative to the data dir; default `<output path>.errors.jsonl`. */
  readonly errorsPath?: string;
}

/** A batch's output sink and errors sink, and where the files are (relative to the data dir). */
export interface BatchOutput {
  readonly sink: RecordSink;
  readonly errors: ErrorSink;
  /** The output file, when the output is a file. */
  readonly outputPath: string | undefined;
  readonly errorsPath: string;
}

/** Opens a batch's output and errors file, resumed from `checkpoints` when given. */
export async function openBatchOutput(
  location: BatchLocation,
  format: IoFormat | undefined,
  dataDir: string,
  options: OutputOptions,
): Promise<BatchOutput> {
  const outputPath = "postgres" in location ? undefined : location.path;
  const errorsPath = options.errorsPath ?? (outputPath ? errorsPathOf(outputPath) : undefined);
  if (errorsPath === undefined) {
    throw new InvalidRequestError("a Postgres output needs an errors file path");
  }
  const sinkOptions: SinkOptions = {
    ...(options.outputs ? { outputs: options.outputs } : {}),
    ...(options.checkpoints ? { checkpoint: options.checkpoints.output } : {}),
  };
  const errorsFile = await resolveDataPath(dataDir, errorsPath, { createParents: true });
  const errors = await openErrorsFile(errorsFile, { checkpoint: options.checkpoints?.errors });
  try {
    const sink = await openOutputSink(location, format, dataDir, options.batchId, sinkOptions);
    return { sink, errors, outputPath, errorsPath };
  } catch (err) {
    await errors.close();
    throw err;
  }
}

async function openOutputSink(
  location: BatchLocation,
  format: IoFormat | undefined,
  dataDir: string,
  batchId: string,
  options: SinkOptions,
): Promise<RecordSink> {
  if ("postgres" in location) {
    const table = nonEmpty(location.postgres.table, "output.postgres.table");
    return openPostgresSink({ url: location.postgres.url, table, batchId }, options);
  }
  const path = await resolveDataPath(dataDir, location.path, { createParents: true });
  switch (formatOf(location, format)) {
    case "jsonl":
      return openJsonlSink(path, options);
    case "csv":
      return openCsvSink(path, options);
    case "parquet":
      return openParquetSink(path, options);
  }
}
