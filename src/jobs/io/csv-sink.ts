/**
 * CSV output: a header `id,<output columns>` (see outputs.ts for the names), then one row per
 * record. Written to `<path>.partial` like JSONL; on resume the columns are read back from the
 * temp file's header, so the rows after a crash line up with the ones before it.
 */
import { open } from "node:fs/promises";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { InvalidRequestError } from "../../errors.js";
import { DurableFile, partialPath } from "./durable-file.js";
import { type Encoded, TextFileSink } from "./file-sink.js";
import { ID_COLUMN, layoutFromRecord, layoutFromSpecs, rowValues } from "./outputs.js";
import { invalidRecord } from "./records.js";
import type { BadRecord, OutputRecord, RecordSink, SinkCheckpoint, SinkOptions } from "./types.js";

/** A header longer than this is not one this sink wrote. */
const MAX_HEADER_BYTES = 1024 * 1024;

const CAST = {
  boolean: (value: boolean) => (value ? "true" : "false"),
  number: (value: number) => String(value),
};

async function readHeader(path: string, bytes: number): Promise<string[]> {
  const handle = await open(partialPath(path), "r");
  try {
    const buffer = Buffer.alloc(Math.min(bytes, MAX_HEADER_BYTES));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const end = buffer.subarray(0, bytesRead).indexOf(0x0a);
    if (end === -1) throw new InvalidRequestError("cannot resume the CSV output: no header line");
    const [header] = parse(buffer.subarray(0, end + 1), { bom: true }) as string[][];
    if (header === undefined || header[0] !== ID_COLUMN) {
      throw new InvalidRequestError("cannot resume the CSV output: its header is not ours");
    }
    return header.slice(1);
  } finally {
    await handle.close();
  }
}

class CsvSink extends TextFileSink<OutputRecord> {
  constructor(
    file: DurableFile,
    records: number,
    private columns: readonly { name: string }[] | undefined,
    private readonly options: SinkOptions,
  ) {
    super(file, records);
  }

  protected encode(records: readonly OutputRecord[]): Encoded {
    const first = records[0];
    if (first === undefined) return { text: "", rejected: [] };
    const rows: unknown[][] = [];
    if (this.columns === undefined) {
      this.columns = layoutFromRecord(first, this.options.outputs);
      rows.push([ID_COLUMN, ...this.columns.map((c) => c.name)]);
    }
    const rejected: BadRecord[] = [];
    for (const record of records) {
      const values = rowValues(this.columns, record);
      if (typeof values === "string") rejected.push(invalidRecord(record.line, record.id, values));
      else rows.push([record.id, ...values]);
    }
    return { text: stringify(rows, { cast: CAST }), rejected };
  }

  /** An output no record reached still gets its header when the specs fix the columns. */
  override async finish(): Promise<SinkCheckpoint> {
    const columns = this.columns === undefined ? layoutFromSpecs(this.options.outputs) : undefined;
    if (columns !== undefined) {
      this.columns = columns;
      await this.file.append(stringify([[ID_COLUMN, ...columns.map((c) => c.name)]]));
    }
    return super.finish();
  }
}

/** The CSV output sink at `path` (written as `<path>.partial` until finished). */
export async function openCsvSink(path: string, options: SinkOptions = {}): Promise<RecordSink> {
  const bytes = options.checkpoint?.bytes ?? 0;
  const file = await DurableFile.open(path, bytes);
  try {
    const columns =
      bytes > 0 ? (await readHeader(path, bytes)).map((name) => ({ name })) : undefined;
    return new CsvSink(file, options.checkpoint?.records ?? 0, columns, options);
  } catch (err) {
    await file.close();
    throw err;
  }
}
