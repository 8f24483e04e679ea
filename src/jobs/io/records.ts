/**
 * Small helpers every format shares: bad records from errors, ids from values, and a RecordSource
 * around a generator.
 */
import { basename } from "node:path";
import { GatewayError, InvalidRequestError } from "../../errors.js";
import type { BadRecord, RecordSource, SourceRecord } from "./types.js";

/** Default bound on one record (a JSONL line, a CSV record): the gateway's tensor byte cap. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** An INVALID_REQUEST bad record. */
export function invalidRecord(line: number, id: string, message: string): BadRecord {
  return { line, id, error: { code: "INVALID_REQUEST", message } };
}

/** A bad record from a thrown error: its code when it is a gateway error, else INVALID_REQUEST. */
export function badRecordFrom(line: number, id: string, err: unknown): BadRecord {
  if (err instanceof GatewayError)
    return { line, id, error: { code: err.code, message: err.message } };
  return invalidRecord(line, id, err instanceof Error ? err.message : String(err));
}

/** A record id from a field value: strings as they are, finite numbers and bigints as decimals. */
export function idFromValue(value: unknown): string | undefined {
  if (typeof value === "string" && value.length > 0) return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "bigint") return value.toString();
  return undefined;
}

/** A RecordSource over a generator, with `close` ending the generator and the resource behind. */
export function sourceFrom(
  records: AsyncGenerator<SourceRecord>,
  release: () => Promise<void> | void,
): RecordSource {
  let closed = false;
  return {
    [Symbol.asyncIterator]: () => records,
    async close() {
      if (closed) return;
      closed = true;
      await records.return(undefined);
      await release();
    },
  };
}

/** A missing or unreadable input file as INVALID_REQUEST (named by its base name only). */
export function inputFileError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const name = JSON.stringify(basename(path));
  if (code === "ENOENT") return new InvalidRequestError(`input file ${name} does not exist`);
  if (code === "EISDIR") return new InvalidRequestError(`input ${name} is a directory, not a file`);
  if (code === "EACCES") return new InvalidRequestError(`input file ${name} is not readable`);
  return err;
}
