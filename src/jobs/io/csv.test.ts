import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { collect, tempDir } from "../../../test/support/batch-io.js";
import { InvalidRequestError } from "../../errors.js";
import { decodeUnifiedInputs } from "../../http/unified-codec.js";
import type { TensorSpec } from "../../tensor/index.js";
import { openCsvSink } from "./csv-sink.js";
import { openCsvSource } from "./csv-source.js";
import type { OutputRecord } from "./types.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const IRIS = `sepal_length,sepal_width,petal_length,petal_width,species
5.1,3.5,1.4,0.2,setosa
7.0,3.2,4.7,1.4,versicolor
6.3,abc,6.0,2.5,virginica
6.3,3.3
`;
const irisSpec: TensorSpec[] = [{ name: "float_input", datatype: "FP32", shape: [-1, 4] }];

async function csv(text: string): Promise<string> {
  const path = join(dir, "in.csv");
  await writeFile(path, text);
  return path;
}

describe("CSV source", () => {
  it("maps the iris columns onto a row-vector input through a columns list", async () => {
    const columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
    const records = await collect(
      await openCsvSource(await csv(IRIS), { inputs: irisSpec, columns }),
    );
    expect(records[0]).toEqual({
      line: 1,
      id: "1",
      inputs: { float_input: [[5.1, 3.5, 1.4, 0.2]] },
    });
    expect(records[1]).toEqual({ line: 2, id: "2", inputs: { float_input: [[7, 3.2, 4.7, 1.4]] } });
    expect(records[2]).toMatchObject({
      line: 3,
      error: {
        code: "INVALID_REQUEST",
        message: `column "sepal_width" (input "float_input"): expected a number, got "abc"`,
      },
    });
    expect(records[3]).toMatchObject({
      line: 4,
      error: { message: "the row has 2 fields, the header 5" },
    });
    // What the runner does next: the mapped inputs decode as a /v1 request would.
    const first = records[0];
    if (first === undefined || "error" in first) throw new Error("expected a record");
    const [tensor] = decodeUnifiedInputs("iris", first.inputs, irisSpec);
    expect(tensor?.shape).toEqual([1, 4]);
    expect(Array.from(tensor?.data as Float32Array)).toEqual(
      [5.1, 3.5, 1.4, 0.2].map((x) => Math.fround(x)),
    );
  });

  it("maps 1-D features by name and name.0, name.1 … by position, with idField", async () => {
    const specs: TensorSpec[] = [
      { name: "age", datatype: "INT64", shape: [-1] },
      { name: "flag", datatype: "BOOL", shape: [-1, 1] },
      { name: "emb", datatype: "FP64", shape: [-1, -1] },
      { name: "city", datatype: "BYTES", shape: [-1] },
    ];
    const path = await csv(
      `key,emb.1,age,emb.0,flag,city,emb.2\nu1,0.5,9007199254740993,1e3,true,"Paris, FR",-inf\n`,
    );
    const records = await collect(await openCsvSource(path, { inputs: specs, idField: "key" }));
    expect(records).toEqual([
      {
        line: 1,
        id: "u1",
        inputs: {
          age: ["9007199254740993"],
          flag: [[true]],
          emb: [[1000, 0.5, Number.NEGATIVE_INFINITY]],
          city: ["Paris, FR"],
        },
      },
    ]);
    const decoded = decodeUnifiedInputs("m", (records[0] as { inputs: unknown }).inputs, specs);
    expect(decoded[0]?.data).toEqual(BigInt64Array.of(9007199254740993n));
  });

  it("refuses a file whose header lacks an input's columns, or the id column", async () => {
    const path = await csv("a,b\n1,2\n");
    await expect(openCsvSource(path, { inputs: irisSpec })).rejects.toThrow(
      /no column for input "float_input"/,
    );
    await expect(
      openCsvSource(path, { inputs: irisSpec, columns: ["a", "b", "c", "d"] }),
    ).rejects.toThrow(/no column "c", "d"/);
    await expect(
      openCsvSource(path, { inputs: irisSpec, columns: ["a", "b"], idField: "id" }),
    ).rejects.toThrow(/no id column "id"/);
  });

  it("refuses a columns option that does not fit the model", async () => {
    const path = await csv("a,b\n1,2\n");
    const two: TensorSpec[] = [
      { name: "p", datatype: "FP32", shape: [-1] },
      { name: "q", datatype: "FP32", shape: [-1] },
    ];
    await expect(openCsvSource(path, { inputs: two, columns: ["a", "b"] })).rejects.toThrow(
      /"columns" as a list needs a model with one input; this one has 2/,
    );
    await expect(
      openCsvSource(path, { inputs: two, columns: { p: ["a"], r: ["b"] } }),
    ).rejects.toThrow(/"columns" names "r", which is not an input of the model/);
    const records = await collect(
      await openCsvSource(path, { inputs: two, columns: { p: ["b"], q: ["a"] } }),
    );
    expect(records).toEqual([{ line: 1, id: "1", inputs: { p: [2], q: [1] } }]);
  });

  it("reports a wrong element count and an unreadable row, and goes on after them", async () => {
    const path = await csv('x.0,x.1,x.2\n1,2,3\n1,"2\n4,5,6\n');
    const specs: TensorSpec[] = [{ name: "x", datatype: "FP32", shape: [-1, 2] }];
    const records = await collect(await openCsvSource(path, { inputs: specs }));
    expect(records[0]).toMatchObject({
      line: 1,
      error: { message: `input "x" (shape [-1,2]) takes 2 elements per record, got 3` },
    });
    expect(records[1]).toMatchObject({ line: 2, error: { code: "INVALID_REQUEST" } });
    expect(records).toHaveLength(2);
  });

  it("fails, after the records before it, on a record over the size bound", async () => {
    const path = await csv(`\uFEFFx\r\n1\r\n${"9".repeat(300)}\r\n3\r\n`);
    const specs: TensorSpec[] = [{ name: "x", datatype: "FP64", shape: [-1] }];
    const source = await openCsvSource(path, { inputs: specs, maxRecordBytes: 100 });
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const record of source) seen.push(record);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([{ line: 1, id: "1", inputs: { x: [1] } }]);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as Error).message).toMatch(
      /maximum number of tolerated bytes of 100.*cannot be read/,
    );
  });

  it("resumes at a row position, counting bad rows", async () => {
    const path = await csv("x\n1\nbad\n3\n4\n");
    const specs: TensorSpec[] = [{ name: "x", datatype: "INT32", shape: [-1] }];
    const records = await collect(await openCsvSource(path, { inputs: specs, start: 2 }));
    expect(records).toEqual([
      { line: 3, id: "3", inputs: { x: [3] } },
      { line: 4, id: "4", inputs: { x: [4] } },
    ]);
  });
});

const out = (i: number): OutputRecord => ({
  line: i,
  id: `r${i}`,
  outputs: { label: [i], probabilities: [[0.25 * i, 1 - 0.25 * i]], ok: [i % 2 === 0] },
});

describe("CSV sink", () => {
  it("writes id then one column per output element", async () => {
    const path = join(dir, "out.csv");
    const sink = await openCsvSink(path);
    const rejected = await sink.write([
      out(1),
      { line: 2, id: "x,y", outputs: { label: [2], probabilities: [[0.5, 0.5]], ok: [false] } },
      { line: 3, id: "short", outputs: { label: [3], probabilities: [[1]], ok: [true] } },
    ]);
    expect(rejected).toEqual([
      {
        line: 3,
        id: "short",
        error: {
          code: "INVALID_REQUEST",
          message: "outputs have 3 elements, the output's columns 4",
        },
      },
    ]);
    expect(await sink.finish()).toMatchObject({ records: 2 });
    expect(await readFile(path, "utf8")).toBe(
      'id,label,probabilities.0,probabilities.1,ok\nr1,1,0.25,0.75,false\n"x,y",2,0.5,0.5,false\n',
    );
  });

  it("resumes after a crash with the header read back: each record once, in order", async () => {
    const path = join(dir, "out.csv");
    let sink = await openCsvSink(path);
    await sink.write([out(1)]);
    const checkpoint = await sink.flush();
    await sink.write([out(2), out(3)]);
    await sink.close();
    sink = await openCsvSink(path, { checkpoint });
    await sink.write([out(2)]);
    await sink.write([out(3)]);
    await sink.finish();
    const lines = (await readFile(path, "utf8")).trim().split("\n");
    expect(lines.map((l) => l.split(",")[0])).toEqual(["id", "r1", "r2", "r3"]);
  });

  it("writes the header of an output no record reached when the specs fix the columns", async () => {
    const path = join(dir, "empty.csv");
    const outputs: TensorSpec[] = [
      { name: "label", datatype: "INT64", shape: [-1] },
      { name: "p", datatype: "FP32", shape: [-1, 2] },
    ];
    await (await openCsvSink(path, { outputs })).finish();
    expect(await readFile(path, "utf8")).toBe("id,label,p.0,p.1\n");
    const variable = join(dir, "variable.csv");
    await (
      await openCsvSink(variable, { outputs: [{ name: "v", datatype: "FP32", shape: [-1, -1] }] })
    ).finish();
    expect(await readFile(variable, "utf8")).toBe("");
  });
});
