/**
 * Parquet output: `id` (STRING) plus one column per output element, typed from the model's output
 * datatypes (see outputs.ts). Rows are spooled as part files at each flush (parquet-spool.ts) and
 * joined into `<out>.partial` at finish, which is then renamed to `<out>`. A crash loses only
 * unflushed rows; finish can be rerun after a crash inside it, since the parts stay until the
 * final file is in place.
 */
import { type FileHandle, unlink } from "node:fs/promises";
import {
  asyncBufferFromFile,
  parquetMetadataAsync,
  parquetRead,
  type SchemaElement,
} from "hyparquet";
import {
  ByteWriter,
  ParquetWriter,
  parquetWriteBuffer,
  schemaFromColumnData,
} from "hyparquet-writer";
import type { Datatype } from "../../tensor/index.js";
import { partialPath, writeFileDurably } from "./durable-file.js";
import {
  ID_COLUMN,
  layoutFromRecord,
  layoutFromSpecs,
  type OutputColumn,
  rowValues,
} from "./outputs.js";
import {
  type Part,
  partBytes,
  prepareSpool,
  removeSpool,
  rollBack,
  spoolDir,
  writePart,
} from "./parquet-spool.js";
import { invalidRecord } from "./records.js";
import type { BadRecord, OutputRecord, RecordSink, SinkCheckpoint, SinkOptions } from "./types.js";

/** Rows buffered before they are spooled even without a flush (bounds the sink's memory). */
export const PARQUET_ROWS_PER_PART = 8192;
/** Rows per row group of the finished file. */
export const PARQUET_ROWS_PER_GROUP = 65_536;

type ColumnType = "BOOLEAN" | "INT32" | "INT64" | "FLOAT" | "DOUBLE" | "STRING";
interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

const TYPE_OF: Readonly<Record<Datatype, ColumnType>> = {
  BOOL: "BOOLEAN",
  UINT8: "INT32",
  UINT16: "INT32",
  UINT32: "INT64",
  UINT64: "INT64",
  INT8: "INT32",
  INT16: "INT32",
  INT32: "INT32",
  INT64: "INT64",
  FP16: "FLOAT",
  BF16: "FLOAT",
  FP32: "FLOAT",
  FP64: "DOUBLE",
  BYTES: "STRING",
};

function typeOfElement(element: SchemaElement): ColumnType {
  switch (element.type) {
    case "BOOLEAN":
    case "INT32":
    case "INT64":
    case "FLOAT":
    case "DOUBLE":
      return element.type;
    default:
      return "STRING";
  }
}

/** A value as the column type stores it; null for what it cannot hold (e.g. NaN in INT64). */
function columnValue(value: unknown, type: ColumnType): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case "STRING":
      return String(value);
    case "BOOLEAN":
      return Boolean(value);
    case "INT64":
      if (typeof value === "bigint") return value;
      return typeof value === "number" && Number.isFinite(value) ? BigInt(Math.trunc(value)) : null;
    default:
      return typeof value === "number" ? value : Number(value);
  }
}

function typed(columns: readonly OutputColumn[]): Column[] {
  return columns.map((c) => ({ name: c.name, type: TYPE_OF[c.datatype] }));
}

/** A hyparquet Writer that writes each finished row group to a file handle. */
class HandleWriter extends ByteWriter {
  private written = 0;
  constructor(private readonly handle: FileHandle) {
    super(1 << 20);
  }
  async flush(): Promise<void> {
    const bytes = this.getBytes();
    let offset = 0;
    while (offset < bytes.length) {
      const r = await this.handle.write(
        bytes,
        offset,
        bytes.length - offset,
        this.written + offset,
      );
      offset += r.bytesWritten;
    }
    this.written += bytes.length;
    this.index = 0;
  }
  override finish(): Promise<void> {
    return this.flush();
  }
}

async function readRows(part: Part): Promise<unknown[][]> {
  const file = await asyncBufferFromFile(part.path);
  let rows: unknown[][] = [];
  await parquetRead({ file, onComplete: (r: unknown[][]) => (rows = r) });
  return rows;
}

class ParquetSink implements RecordSink {
  private buffer: unknown[][] = [];
  private buffered = 0;

  constructor(
    private readonly path: string,
    private parts: Part[],
    private bytes: number,
    private columns: Column[] | undefined,
    private readonly options: SinkOptions,
  ) {}

  private get spooled(): number {
    const last = this.parts[this.parts.length - 1];
    return last === undefined ? 0 : last.start + last.count;
  }

  private allColumns(): Column[] {
    return [{ name: ID_COLUMN, type: "STRING" }, ...(this.columns ?? [])];
  }

  async write(records: readonly OutputRecord[]): Promise<BadRecord[]> {
    const rejected: BadRecord[] = [];
    for (const record of records) {
      this.columns ??= typed(layoutFromRecord(record, this.options.outputs));
      const values = rowValues(this.columns, record);
      if (typeof values === "string") {
        rejected.push(invalidRecord(record.line, record.id, values));
        continue;
      }
      const columns = this.allColumns();
      if (this.buffer.length === 0) this.buffer = columns.map(() => []);
      this.buffer[0]?.push(record.id);
      for (let i = 0; i < values.length; i++) {
        this.buffer[i + 1]?.push(columnValue(values[i], (columns[i + 1] as Column).type));
      }
      if (++this.buffered >= PARQUET_ROWS_PER_PART) await this.spill();
    }
    return rejected;
  }

  private async spill(): Promise<void> {
    if (this.buffered === 0) return;
    const columnData = this.allColumns().map((c, i) => ({
      name: c.name,
      type: c.type,
      data: this.buffer[i] ?? [],
    }));
    const bytes = parquetWriteBuffer({ columnData, rowGroupSize: this.buffered });
    this.parts.push(await writePart(spoolDir(this.path), this.spooled, this.buffered, bytes));
    this.bytes += bytes.byteLength;
    this.buffer = [];
    this.buffered = 0;
  }

  async flush(): Promise<SinkCheckpoint> {
    await this.spill();
    return { records: this.spooled, bytes: this.bytes };
  }

  async finish(): Promise<SinkCheckpoint> {
    const checkpoint = await this.flush();
    // An output no record reached still gets its full schema when the specs fix the columns.
    if (this.columns === undefined) {
      const fromSpecs = layoutFromSpecs(this.options.outputs);
      if (fromSpecs !== undefined) this.columns = typed(fromSpecs);
    }
    await writeFileDurably(partialPath(this.path), this.path, (handle) =>
      this.assemble(new HandleWriter(handle)),
    );
    await removeSpool(spoolDir(this.path));
    return checkpoint;
  }

  /** Streams the parts into one file, PARQUET_ROWS_PER_GROUP rows per row group. */
  private async assemble(out: HandleWriter): Promise<void> {
    const columns = this.allColumns();
    const schema = schemaFromColumnData({
      columnData: columns.map((c) => ({ name: c.name, type: c.type, data: [] })),
    });
    const writer = new ParquetWriter({ writer: out, schema });
    let group: unknown[][] = columns.map(() => []);
    let rows = 0;
    const emit = async () => {
      if (rows === 0) return;
      const columnData = columns.map((c, i) => ({ name: c.name, data: group[i] ?? [] }));
      await writer.write({ columnData, rowGroupSize: rows });
      group = columns.map(() => []);
      rows = 0;
    };
    for (const part of this.parts) {
      for (const row of await readRows(part)) {
        for (let i = 0; i < columns.length; i++) group[i]?.push(row[i]);
        if (++rows >= PARQUET_ROWS_PER_GROUP) await emit();
      }
    }
    await emit();
    await writer.finish();
  }

  async abort(): Promise<void> {
    this.close();
    await removeSpool(spoolDir(this.path));
    await unlink(partialPath(this.path)).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.buffer = [];
    this.buffered = 0;
  }
}

/** The Parquet output sink at `path` (spooled under `<path>.partial.d/` until finished). */
export async function openParquetSink(
  path: string,
  options: SinkOptions = {},
): Promise<RecordSink> {
  const dir = spoolDir(path);
  const records = options.checkpoint?.records ?? 0;
  if (records === 0) await removeSpool(dir);
  await prepareSpool(dir);
  const parts = records === 0 ? [] : await rollBack(dir, records);
  let columns: Column[] | undefined;
  const first = parts[0];
  if (first !== undefined) {
    const { schema } = await parquetMetadataAsync(await asyncBufferFromFile(first.path));
    columns = schema.slice(2).map((e) => ({ name: e.name, type: typeOfElement(e) }));
  }
  return new ParquetSink(path, parts, await partBytes(parts), columns, options);
}
