/**
 * Parquet input: rows mapped to inputs like CSV (see columns.ts); a list column can feed a row
 * vector by itself. Only the columns the mapping needs are read, one row group (or a slice of a
 * large one) at a time, so memory is bounded by the slice, not the file. Resuming skips whole row
 * groups from the footer's row counts without decoding them.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from "hyparquet";
import { InvalidRequestError } from "../../errors.js";
import { mapRow, planMapping } from "./columns.js";
import { inputFileError, sourceFrom } from "./records.js";
import type { RecordSource, SourceOptions, SourceRecord } from "./types.js";

/** Rows decoded per read: a row group larger than this is read in slices. */
export const PARQUET_ROWS_PER_READ = 16_384;

/** Streams the rows of a Parquet file as records, skipping the first `options.start` rows. */
export async function openParquetSource(
  path: string,
  options: SourceOptions,
): Promise<RecordSource> {
  const file = await asyncBufferFromFile(path).catch((err: unknown) => {
    throw inputFileError(err, path);
  });
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw new InvalidRequestError(`not a readable Parquet file: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const header = parquetSchema(metadata).children.map((c) => c.element.name);
  const full = planMapping(header, options);
  // Read only what the mapping uses, in a fixed order, and map rows against that order.
  const needed = [
    ...new Set([
      ...(options.idField === undefined ? [] : [options.idField]),
      ...full.inputs.flatMap((i) => i.names),
    ]),
  ];
  const mapping = planMapping(needed, options);
  const start = options.start ?? 0;
  let closed = false;
  async function* records(): AsyncGenerator<SourceRecord> {
    let groupStart = 0;
    for (const group of metadata.row_groups) {
      const groupEnd = groupStart + Number(group.num_rows);
      for (let from = Math.max(groupStart, start); from < groupEnd && !closed; ) {
        const to = Math.min(groupEnd, from + PARQUET_ROWS_PER_READ);
        let rows: unknown[][] = [];
        await parquetRead({
          file,
          metadata,
          columns: needed,
          rowStart: from,
          rowEnd: to,
          onComplete: (r: unknown[][]) => {
            rows = r;
          },
        });
        for (let i = 0; i < rows.length; i++) {
          yield mapRow(mapping, rows[i] as unknown[], from + i + 1);
        }
        from = to;
      }
      groupStart = groupEnd;
    }
  }
  return sourceFrom(records(), () => {
    closed = true;
  });
}
