import { mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { collect, tempDir } from "../../../test/support/batch-io.js";
import type { TensorSpec } from "../../tensor/index.js";
import { openParquetSink, PARQUET_ROWS_PER_PART } from "./parquet-sink.js";
import { openParquetSource } from "./parquet-source.js";
import { spoolDir } from "./parquet-spool.js";
import type { InputRecord, OutputRecord } from "./types.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

async function readBack(path: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: await asyncBufferFromFile(path) });
}

describe("Parquet source", () => {
  it("maps typed columns onto inputs, with idField, 64-bit ints exact and nulls as bad records", async () => {
    const path = join(dir, "in.parquet");
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: "user", data: ["a", "b", "c"], type: "STRING" },
        { name: "f.0", data: [1.5, 2.5, null], type: "DOUBLE" },
        { name: "f.1", data: [-1, 0, 1], type: "FLOAT" },
        { name: "n", data: [9007199254740993n, 2n, 3n], type: "INT64" },
      ],
    });
    await writeFile(path, new Uint8Array(buffer));
    const specs: TensorSpec[] = [
      { name: "f", datatype: "FP32", shape: [-1, 2] },
      { name: "n", datatype: "INT64", shape: [-1] },
    ];
    const records = await collect(
      await openParquetSource(path, { inputs: specs, idField: "user" }),
    );
    expect(records[0]).toEqual({
      line: 1,
      id: "a",
      inputs: { f: [[1.5, -1]], n: ["9007199254740993"] },
    });
    expect(records[1]).toEqual({ line: 2, id: "b", inputs: { f: [[2.5, 0]], n: ["2"] } });
    expect(records[2]).toMatchObject({
      line: 3,
      id: "c",
      error: { message: `column "f.0" (input "f"): the cell is empty` },
    });
  });

  it("streams large row groups in slices and resumes by skipping rows", async () => {
    const path = join(dir, "big.parquet");
    const n = 40_000;
    const xs = Array.from({ length: n }, (_, i) => i);
    await writeFile(
      path,
      new Uint8Array(
        parquetWriteBuffer({
          columnData: [{ name: "x", data: xs, type: "INT32" }],
          rowGroupSize: 25_000,
        }),
      ),
    );
    const specs: TensorSpec[] = [{ name: "x", datatype: "INT32", shape: [-1] }];
    const source = await openParquetSource(path, { inputs: specs, start: 24_990 });
    let expected = 24_990;
    for await (const record of source) {
      expect((record as InputRecord).inputs).toEqual({ x: [expected] });
      expect(record.line).toBe(++expected);
    }
    expect(expected).toBe(n);
  });

  it("refuses a file that is not Parquet", async () => {
    const path = join(dir, "bad.parquet");
    await writeFile(path, "id,x\n1,2\n");
    await expect(openParquetSource(path, { inputs: [] })).rejects.toThrow(/not a readable Parquet/);
  });
});

const out = (i: number): OutputRecord => ({
  line: i,
  id: `r${i}`,
  outputs: [
    { name: "label", datatype: "INT64", shape: [1], data: BigInt64Array.of(BigInt(i)) },
    { name: "p", datatype: "FP32", shape: [1, 2], data: Float32Array.of(0.25, 0.75) },
    { name: "name", datatype: "BYTES", shape: [1], data: [new TextEncoder().encode(`n${i}`)] },
  ],
});

describe("Parquet sink", () => {
  it("writes id plus typed element columns and leaves no spool behind", async () => {
    const path = join(dir, "out.parquet");
    const sink = await openParquetSink(path);
    expect(await sink.write([out(1), out(2)])).toEqual([]);
    const rejected = await sink.write([{ line: 3, id: "r3", outputs: { label: [3] } }]);
    expect(rejected[0]?.error.message).toMatch(/outputs have 1 elements, the output's columns 4/);
    expect(await sink.finish()).toMatchObject({ records: 2 });
    expect(await readBack(path)).toEqual([
      { id: "r1", label: 1n, "p.0": 0.25, "p.1": 0.75, name: "n1" },
      { id: "r2", label: 2n, "p.0": 0.25, "p.1": 0.75, name: "n2" },
    ]);
    const schema = (await parquetMetadataAsync(await asyncBufferFromFile(path))).schema;
    expect(schema.slice(1).map((e) => [e.name, e.type])).toEqual([
      ["id", "BYTE_ARRAY"],
      ["label", "INT64"],
      ["p.0", "FLOAT"],
      ["p.1", "FLOAT"],
      ["name", "BYTE_ARRAY"],
    ]);
    expect(await readdir(dir)).toEqual(["out.parquet"]);
  });

  it("gives an output no record reached its schema from the specs", async () => {
    const path = join(dir, "empty.parquet");
    const outputs: TensorSpec[] = [{ name: "p", datatype: "FP64", shape: [-1, 2] }];
    await (await openParquetSink(path, { outputs })).finish();
    const metadata = await parquetMetadataAsync(await asyncBufferFromFile(path));
    expect(metadata.schema.slice(1).map((e) => [e.name, e.type])).toEqual([
      ["id", "BYTE_ARRAY"],
      ["p.0", "DOUBLE"],
      ["p.1", "DOUBLE"],
    ]);
    expect(metadata.num_rows).toBe(0n);
  });

  it("resumes after a crash from the spool: each record once, in order", async () => {
    const path = join(dir, "out.parquet");
    let sink = await openParquetSink(path);
    await sink.write([out(1), out(2)]);
    const checkpoint = await sink.flush();
    await sink.write([out(3)]);
    await sink.flush(); // spooled, but the checkpoint was never stored
    await sink.write([out(4)]); // buffered only
    await sink.close(); // the crash
    sink = await openParquetSink(path, { checkpoint });
    await sink.write([3, 4, 5].map(out));
    expect(await sink.finish()).toMatchObject({ records: 5 });
    expect((await readBack(path)).map((r) => r.id)).toEqual(["r1", "r2", "r3", "r4", "r5"]);
  });

  it("spools without a flush when the buffer fills, and joins parts into one file", async () => {
    const path = join(dir, "out.parquet");
    const sink = await openParquetSink(path);
    const n = PARQUET_ROWS_PER_PART * 2 + 10;
    await sink.write(Array.from({ length: n }, (_, i) => out(i + 1)));
    expect((await readdir(spoolDir(path))).length).toBe(2);
    await sink.finish();
    const rows = await readBack(path);
    expect(rows).toHaveLength(n);
    expect(rows[n - 1]).toMatchObject({ id: `r${n}`, label: BigInt(n) });
  });

  it("never spools through a symlink in the spool directory's place", async () => {
    const path = join(dir, "out.parquet");
    await mkdir(join(dir, "elsewhere"));
    await symlink(join(dir, "elsewhere"), spoolDir(path));
    await expect(openParquetSink(path, { checkpoint: { records: 1, bytes: 1 } })).rejects.toThrow(
      /spool directory is not a directory/,
    );
    // A fresh start removes the link itself (never what it points to) and spools in a real dir.
    const sink = await openParquetSink(path);
    await sink.write([out(1)]);
    await sink.flush();
    expect(await readdir(join(dir, "elsewhere"))).toEqual([]);
    expect(await readdir(spoolDir(path))).toHaveLength(1);
    await sink.abort();
  });

  it("refuses a checkpoint its spool does not hold", async () => {
    const path = join(dir, "out.parquet");
    await expect(openParquetSink(path, { checkpoint: { records: 5, bytes: 0 } })).rejects.toThrow(
      /spool holds 0 of the checkpoint's 5 rows/,
    );
  });
});
