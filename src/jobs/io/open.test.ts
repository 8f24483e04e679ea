import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../../test/support/batch-io.js";
import { InvalidRequestError } from "../../errors.js";
import type { TensorSpec } from "../../tensor/index.js";
import {
  type BatchLocation,
  type OutputCheckpoints,
  openBatchOutput,
  openBatchSource,
  parseFormat,
  parseLocation,
} from "./open.js";
import { type IoFormat, isBadRecord, type OutputRecord, resumePosition } from "./types.js";

let dataDir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir: dataDir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const specs: TensorSpec[] = [{ name: "x", datatype: "FP32", shape: [-1, 2] }];

/** The "model": y = 2x. */
function predict(line: number, id: string, inputs: unknown): OutputRecord {
  const x = (inputs as { x: number[][] }).x[0] ?? [];
  return { line, id, outputs: { y: [x.map((v) => v * 2)] } };
}

interface Run {
  input: BatchLocation;
  output: BatchLocation;
  format?: IoFormat;
  checkpoints?: OutputCheckpoints;
  /** Drop everything (no finish) after this many records: the crash. */
  crashAfter?: number;
}

/** A minimal batch runner: flush both sinks every 3 records, store the pair, maybe crash. */
async function run(opts: Run): Promise<OutputCheckpoints | undefined> {
  const start = opts.checkpoints
    ? resumePosition(opts.checkpoints.output, opts.checkpoints.errors)
    : 0;
  const source = await openBatchSource(opts.input, opts.format, dataDir, { inputs: specs, start });
  const { sink, errors } = await openBatchOutput(opts.output, opts.format, dataDir, {
    batchId: "b1",
    ...(opts.checkpoints ? { checkpoints: opts.checkpoints } : {}),
  });
  let stored = opts.checkpoints;
  let n = start;
  for await (const record of source) {
    if (isBadRecord(record)) await errors.write([record]);
    else await errors.write(await sink.write([predict(record.line, record.id, record.inputs)]));
    n++;
    if (n % 3 === 0) stored = { output: await sink.flush(), errors: await errors.flush() };
    if (n === opts.crashAfter) {
      await Promise.all([sink.close(), errors.close(), source.close()]);
      return stored;
    }
  }
  await sink.finish();
  await errors.finish();
  return undefined;
}

const INPUT = [
  '{"id":"a","inputs":{"x":[[1,2]]}}',
  '{"id":"b","inputs":{"x":[[3,4]]}}',
  "{broken",
  '{"id":"d","inputs":{"x":[[5,6]]}}',
  '{"id":"e","inputs":{"x":[[7,8]]}}',
  '{"id":"f"}',
  '{"id":"g","inputs":{"x":[[9,10]]}}',
  '{"id":"h","inputs":{"x":[[11,12]]}}',
].join("\n");

async function rowsOf(format: IoFormat, path: string): Promise<unknown[]> {
  if (format === "parquet") return parquetReadObjects({ file: await asyncBufferFromFile(path) });
  const text = await readFile(path, "utf8");
  const lines = text.trim().split("\n");
  return format === "jsonl" ? lines.map((l) => JSON.parse(l)) : lines;
}

const EXPECTED: Record<IoFormat, unknown[]> = {
  jsonl: ["a", "b", "d", "e", "g", "h"].map((id, i) => {
    const base = [1, 3, 5, 7, 9, 11][i] ?? 0;
    return { id, outputs: { y: [[base * 2, (base + 1) * 2]] } };
  }),
  csv: ["id,y.0,y.1", "a,2,4", "b,6,8", "d,10,12", "e,14,16", "g,18,20", "h,22,24"],
  parquet: ["a", "b", "d", "e", "g", "h"].map((id, i) => {
    const base = [1, 3, 5, 7, 9, 11][i] ?? 0;
    return { id, "y.0": base * 2, "y.1": (base + 1) * 2 };
  }),
};

describe("a batch through openBatchSource / openBatchOutput", () => {
  for (const format of ["jsonl", "csv", "parquet"] as const) {
    for (const crashAfter of [4, 7]) {
      it(`JSONL in, ${format} out: a crash after ${crashAfter} records, then resume: every record once`, async () => {
        await writeFile(join(dataDir, "in.jsonl"), INPUT);
        const input = { path: "in.jsonl", format: "jsonl" as const };
        const output = { path: `out/scores.${format}`, format };
        const checkpoints = await run({ input, output, crashAfter });
        expect(checkpoints).toBeDefined();
        expect(
          await run({ input, output, ...(checkpoints ? { checkpoints } : {}) }),
        ).toBeUndefined();
        const path = join(dataDir, "out", `scores.${format}`);
        expect(await rowsOf(format, path)).toEqual(EXPECTED[format]);
        const errors = (await readFile(`${path}.errors.jsonl`, "utf8")).trim().split("\n");
        expect(errors.map((l) => JSON.parse(l)).map((e) => [e.id, e.line, e.error.code])).toEqual([
          ["3", 3, "INVALID_REQUEST"],
          ["f", 6, "INVALID_REQUEST"],
        ]);
      });
    }
  }

  it("reads CSV and Parquet inputs through the same door; output.format overrides format", async () => {
    await writeFile(join(dataDir, "in.csv"), "x.0,x.1\n1,2\n3,4\n");
    await run({
      input: { path: "in.csv" },
      output: { path: "o.parquet", format: "parquet" },
      format: "csv",
    });
    // The Parquet output (id, y.0, y.1) read back as an input, y mapped onto x by a columns list.
    const source = await openBatchSource({ path: "o.parquet" }, "parquet", dataDir, {
      inputs: specs,
      columns: { x: ["y.0", "y.1"] },
      idField: "id",
    });
    const records = [];
    for await (const record of source) records.push(record);
    expect(records).toEqual([
      { line: 1, id: "1", inputs: { x: [[2, 4]] } },
      { line: 2, id: "2", inputs: { x: [[6, 8]] } },
    ]);
  });

  it("reports a missing input file as INVALID_REQUEST in every format", async () => {
    for (const format of ["jsonl", "csv", "parquet"] as const) {
      await expect(
        openBatchSource({ path: "nope/missing.in" }, format, dataDir, { inputs: specs }),
      ).rejects.toThrow(new InvalidRequestError(`input file "missing.in" does not exist`));
    }
  });

  it("refuses paths outside the data directory for inputs and outputs", async () => {
    await expect(
      openBatchSource({ path: "../etc/passwd" }, "jsonl", dataDir, { inputs: specs }),
    ).rejects.toThrow(InvalidRequestError);
    await expect(
      openBatchOutput({ path: "/tmp/x.jsonl" }, "jsonl", dataDir, { batchId: "b" }),
    ).rejects.toThrow(/must be relative/);
  });
});

describe("parseLocation / parseFormat", () => {
  it("accepts the documented shapes", () => {
    expect(parseLocation({ path: "a.csv" }, "input")).toEqual({ path: "a.csv" });
    expect(parseLocation({ path: "a.csv", format: "csv" }, "output")).toEqual({
      path: "a.csv",
      format: "csv",
    });
    expect(
      parseLocation({ postgres: { url: "postgresql://u@h/db", query: "SELECT 1" } }, "input"),
    ).toEqual({ postgres: { url: "postgresql://u@h/db", query: "SELECT 1" } });
    expect(parseFormat(undefined)).toBe("jsonl");
  });

  it("refuses the rest with INVALID_REQUEST", () => {
    expect(() => parseLocation("a.csv", "input")).toThrow(/must be \{"path"\}/);
    expect(() => parseLocation({ path: "" }, "input")).toThrow(/"input.path" must be a non-empty/);
    expect(() => parseLocation({ path: "a", format: "xml" }, "output")).toThrow(/output.format/);
    expect(() => parseLocation({ postgres: { url: "http://x", table: "t" } }, "output")).toThrow(
      /postgres:\/\/ URL/,
    );
    expect(() => parseLocation({ postgres: { url: "postgres://x" } }, "output")).toThrow(
      /output.postgres.table/,
    );
    expect(() => parseFormat("xlsx")).toThrow(/jsonl, csv, parquet/);
  });
});
