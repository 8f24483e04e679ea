/**
 * CSV input: a header row, then one record per row, columns mapped to the model's inputs (see
 * columns.ts). Rows are numbered from 1 after the header. A row csv-parse cannot read (a broken
 * quote) or with another field count than the header is a bad record; csv-parse resynchronises
 * after it, so a broken quote may take the lines it swallowed with it, as one bad record. A record
 * over the size bound ends the file for csv-parse, so the source fails there (INVALID_REQUEST)
 * rather than end as if the file were shorter.
 */
import { createReadStream } from "node:fs";
import { type CsvError, parse } from "csv-parse";
import { InvalidRequestError } from "../../errors.js";
import { mapRow, planMapping } from "./columns.js";
import { DEFAULT_MAX_RECORD_BYTES, inputFileError, invalidRecord, sourceFrom } from "./records.js";
import type { RecordSource, SourceOptions, SourceRecord } from "./types.js";

/** A parsed row tagged with its ordinal (0 = the header), or a row csv-parse skipped. */
type Parsed = { seq: number; fields: string[] } | { seq: number; error: string };

/** Streams the records of a CSV file, skipping the first `options.start` rows. */
export async function openCsvSource(path: string, options: SourceOptions): Promise<RecordSource> {
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  let seq = 0;
  let tooLarge: string | undefined;
  // csv-parse reports skipped rows through a callback while it parses; the ordinal keeps them in
  // their place among the good rows. At most one chunk's worth waits here.
  const skipped: Parsed[] = [];
  const parser = stream.pipe(
    parse({
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
      on_record: (fields: string[]) => ({ seq: seq++, fields }) as unknown as string[],
      on_skip: (err: CsvError | undefined) => {
        // csv-parse stops reading after an oversized record, so it cannot be skipped like the
        // others: the source fails once the records before it are out, instead of ending early.
        if (err?.code === "CSV_MAX_RECORD_SIZE") tooLarge = err.message;
        else skipped.push({ seq: seq++, error: err?.message ?? "unreadable CSV record" });
        return undefined;
      },
    }),
  );
  stream.once("error", (err) => parser.destroy(err));
  const rows = (parser as AsyncIterable<Parsed>)[Symbol.asyncIterator]();
  const release = () => {
    stream.destroy();
    parser.destroy();
  };
  let header: string[];
  try {
    const first = await rows.next();
    if (first.done || "error" in first.value || first.value.seq !== 0) {
      throw new InvalidRequestError("the CSV file has no readable header row");
    }
    header = first.value.fields;
  } catch (err) {
    release();
    throw inputFileError(err, path);
  }
  let mapping: ReturnType<typeof planMapping>;
  try {
    mapping = planMapping(header, options);
  } catch (err) {
    release();
    throw err;
  }
  const start = options.start ?? 0;
  function* toRecords(item: Parsed): Generator<SourceRecord> {
    const line = item.seq;
    if (line <= start) return;
    if ("error" in item) {
      yield invalidRecord(line, String(line), item.error);
    } else if (item.fields.length !== header.length) {
      const message = `the row has ${item.fields.length} fields, the header ${header.length}`;
      yield invalidRecord(line, String(line), message);
    } else {
      yield mapRow(mapping, item.fields, line);
    }
  }
  async function* records(): AsyncGenerator<SourceRecord> {
    for (;;) {
      const next = await rows.next();
      const upTo = next.done ? Number.POSITIVE_INFINITY : next.value.seq;
      while ((skipped[0]?.seq ?? upTo) < upTo) yield* toRecords(skipped.shift() as Parsed);
      if (next.done) {
        if (tooLarge === undefined) return;
        throw new InvalidRequestError(`${tooLarge}; the rest of the file cannot be read`);
      }
      yield* toRecords(next.value);
    }
  }
  return sourceFrom(records(), release);
}
