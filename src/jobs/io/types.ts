/**
 * The batch I/O contract: streamed record sources (what a batch reads) and durable sinks (what it
 * writes), independent of the format behind them. A runner pulls records from a source, predicts,
 * writes outcomes to the output sink or the error sink, and every so often flushes both and stores
 * the two checkpoints together. After a crash it reopens the sinks from those checkpoints (which
 * roll back anything written after them) and the source at `resumePosition(...)`, so every record
 * lands exactly once, in order.
 */
import type { ErrorCode } from "../../errors.js";
import type { NamedTensor, TensorSpec } from "../../tensor/index.js";

/** The record formats a batch reads and writes (Postgres is a location, not a format). */
export const IO_FORMATS = ["jsonl", "csv", "parquet"] as const;

/** A record file format. */
export type IoFormat = (typeof IO_FORMATS)[number];

/** The unified API's `inputs` value: input name -> tensor (nested array or explicit tensor). */
export type RecordInputs = Record<string, unknown> | unknown[];

/** A record that could not be read or mapped (it goes to the errors file). */
export interface RecordError {
  readonly code: ErrorCode;
  readonly message: string;
}

/** A readable record, ready for `decodeUnifiedInputs` (src/http/unified-codec.ts). */
export interface InputRecord {
  /** 1-based: the line of a JSONL file, the data row of a CSV/Parquet file or query result. */
  readonly line: number;
  readonly id: string;
  readonly inputs: RecordInputs;
}

/** A record the source could not read; `id` is the line number when the id is unknown. */
export interface BadRecord {
  readonly line: number;
  readonly id: string;
  readonly error: RecordError;
}

/** What a source yields, in input order. */
export type SourceRecord = InputRecord | BadRecord;

/** True for a record the source could not read. */
export function isBadRecord(record: SourceRecord): record is BadRecord {
  return "error" in record;
}

/**
 * A streamed record source. Iterate it once; it reads ahead a bounded amount (one chunk, row
 * group or cursor page) and pauses while the consumer is busy.
 */
export interface RecordSource extends AsyncIterable<SourceRecord> {
  /** Releases the file or connection; safe to call twice and after iteration ended. */
  close(): Promise<void>;
}

/** How tabular rows map onto the model's inputs. */
export interface MappingOptions {
  /** The model's input specs (names, datatypes, shapes). */
  readonly inputs: readonly TensorSpec[];
  /**
   * Explicit columns per input, in element order (`{"features": ["sepal_length", ...]}`), or one
   * list for a model with a single input. Inputs not named here map by name.
   */
  readonly columns?: Readonly<Record<string, readonly string[]>> | readonly string[];
  /** The column (or JSONL key) holding the record id; default the JSONL `id`, else the line. */
  readonly idField?: string;
}

/** Options every source takes. */
export interface SourceOptions extends MappingOptions {
  /** Records to skip before the first one yielded (a checkpoint's resume position). */
  readonly start?: number;
  /** Largest record (a JSONL line, a CSV record) in bytes; bigger ones are bad records. */
  readonly maxRecordBytes?: number;
}

/** The outputs of one record: the `/v1` response `outputs` object, or the tensors themselves. */
export type RecordOutputs = Readonly<Record<string, unknown>> | readonly NamedTensor[];

/** One predicted record for an output sink. */
export interface OutputRecord {
  readonly line: number;
  readonly id: string;
  readonly outputs: RecordOutputs;
}

/**
 * A sink's durable position. `records` were written for good; `bytes` is the format's own resume
 * position (the temp file's length for JSONL/CSV, the spooled bytes for Parquet, 0 for Postgres).
 */
export interface SinkCheckpoint {
  readonly records: number;
  readonly bytes: number;
}

/** A durable, resumable writer of records of type T. Calls must not overlap (await each). */
export interface DurableSink<T> {
  /**
   * Writes records after the ones written so far. For output sinks, records that do not fit the
   * output's layout (e.g. another element count than the first record) are not written and come
   * back as bad records, for the errors file.
   */
  write(records: readonly T[]): Promise<BadRecord[]>;
  /** Makes everything written so far durable (fsync / COMMIT) and returns the checkpoint. */
  flush(): Promise<SinkCheckpoint>;
  /** Flushes, then publishes the output under its final name (atomic rename, or COMMIT). */
  finish(): Promise<SinkCheckpoint>;
  /** Discards the unfinished output (temp files removed, open transaction rolled back). */
  abort(): Promise<void>;
  /** Releases resources, keeping what was flushed for a later resume (what a crash leaves). */
  close(): Promise<void>;
}

/** Writes predicted records. */
export type RecordSink = DurableSink<OutputRecord>;

/** Writes bad records to the `.errors.jsonl` file beside the output. */
export type ErrorSink = DurableSink<BadRecord>;

/** Options every sink takes. */
export interface SinkOptions {
  /** Resume after this checkpoint: whatever was written after it is dropped. */
  readonly checkpoint?: SinkCheckpoint;
  /** The model's output specs; tabular sinks type their columns from them when given. */
  readonly outputs?: readonly TensorSpec[];
}

/**
 * Where the source resumes after a crash: every record before it went to the output or the errors
 * file, so it is the sum of both sinks' checkpoints taken at the same flush.
 */
export function resumePosition(output: SinkCheckpoint, errors: SinkCheckpoint): number {
  return output.records + errors.records;
}
