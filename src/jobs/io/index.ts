/**
 * Batch I/O: streamed record sources and durable, resumable sinks for JSONL, CSV, Parquet and
 * PostgreSQL, column mapping onto a model's inputs, and paths confined to the data directory.
 * Implementations live in the files named below; this file only re-exports them.
 */

export { openCsvSink } from "./csv-sink.js";
export { openCsvSource } from "./csv-source.js";
export { partialPath } from "./durable-file.js";
export { errorsPath, openErrorSink, openErrorsFile, openJsonlSink } from "./jsonl-sink.js";
export { openJsonlSource, parseJsonlRecord } from "./jsonl-source.js";
export {
  type BatchLocation,
  type BatchOutput,
  type OutputCheckpoints,
  type OutputOptions,
  openBatchOutput,
  openBatchSource,
  type PathLocation,
  type PostgresLocation,
  parseFormat,
  parseLocation,
} from "./open.js";
export { openParquetSink } from "./parquet-sink.js";
export { openParquetSource } from "./parquet-source.js";
export { spoolDir } from "./parquet-spool.js";
export { checkRelativePath, resolveDataPath } from "./paths.js";
export { openPostgresSink, type PostgresOutput } from "./pg-sink.js";
export { openPostgresSource, type PostgresInput } from "./pg-source.js";
export { expandPathPlaceholders, isTimeZone } from "./placeholders.js";
export * from "./types.js";
