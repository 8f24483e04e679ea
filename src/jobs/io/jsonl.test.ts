import { readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { collect, tempDir } from "../../../test/support/batch-io.js";
import { partialPath } from "./durable-file.js";
import { errorsPath, openErrorSink, openJsonlSink } from "./jsonl-sink.js";
import { openJsonlSource } from "./jsonl-source.js";
import type { OutputRecord, SinkCheckpoint } from "./types.js";

const specs = [{ name: "x", datatype: "FP32" as const, shape: [-1, 2] }];
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const lines = (text: string) => text.split("\n").filter((l) => l !== "");

describe("JSONL source", () => {
  it("reads records with ids, bare tensors and line-number ids", async () => {
    const path = join(dir, "in.jsonl");
    await writeFile(
      path,
      '{"id":"a","inputs":{"x":[[1,2]]}}\r\n\n{"inputs":[[3,4]]}\n{"id":7,"inputs":{"x":[[5,6]]}}',
    );
    const records = await collect(await openJsonlSource(path, { inputs: specs }));
    expect(records).toEqual([
      { line: 1, id: "a", inputs: { x: [[1, 2]] } },
      { line: 3, id: "3", inputs: [[3, 4]] },
      { line: 4, id: "7", inputs: { x: [[5, 6]] } },
    ]);
  });

  it("turns bad lines into bad records with their line numbers and goes on", async () => {
    const path = join(dir, "in.jsonl");
    const long = `{"inputs":[${"1,".repeat(100)}1]}`;
    await writeFile(
      path,
      [
        '{"inputs":[[1,2]]}',
        "{not json",
        "[1,2]",
        '{"id":"q"}',
        long,
        '{"inputs":{"x":[[9,9]]}}',
      ].join("\n"),
    );
    const records = await collect(
      await openJsonlSource(path, { inputs: specs, maxRecordBytes: 100 }),
    );
    expect(records.map((r) => [r.line, r.id, "error" in r ? r.error.code : "ok"])).toEqual([
      [1, "1", "ok"],
      [2, "2", "INVALID_REQUEST"],
      [3, "3", "INVALID_REQUEST"],
      [4, "q", "INVALID_REQUEST"],
      [5, "5", "INVALID_REQUEST"],
      [6, "6", "ok"],
    ]);
    const messages = records.flatMap((r) => ("error" in r ? [r.error.message] : []));
    expect(messages[0]).toMatch(/^malformed JSON/);
    expect(messages[2]).toMatch(/"inputs" is required/);
    expect(messages[3]).toBe("record is over 100 bytes");
  });

  it("takes the id from idField and refuses a record without it", async () => {
    const path = join(dir, "in.jsonl");
    await writeFile(path, '{"key":"k1","inputs":[[1,2]]}\n{"inputs":[[1,2]]}\n');
    const records = await collect(await openJsonlSource(path, { inputs: specs, idField: "key" }));
    expect(records[0]).toMatchObject({ id: "k1" });
    expect(records[1]).toMatchObject({ id: "2", error: { message: `"key" is missing` } });
  });

  it("resumes at a record position", async () => {
    const path = join(dir, "in.jsonl");
    await writeFile(path, [1, 2, 3, 4].map((i) => `{"id":"r${i}","inputs":[[${i},0]]}`).join("\n"));
    const records = await collect(await openJsonlSource(path, { inputs: specs, start: 2 }));
    expect(records.map((r) => r.id)).toEqual(["r3", "r4"]);
  });
});

function out(i: number): OutputRecord {
  return { line: i, id: `r${i}`, outputs: { y: [[i, i * 10]] } };
}

describe("JSONL sink", () => {
  it("writes {id, outputs} lines, from nested values or tensors, and publishes on finish", async () => {
    const path = join(dir, "out.jsonl");
    const sink = await openJsonlSink(path);
    await sink.write([out(1)]);
    await sink.write([
      {
        line: 2,
        id: "t",
        outputs: [{ name: "y", datatype: "INT32", shape: [1, 2], data: Int32Array.of(7, 8) }],
      },
    ]);
    const done = await sink.finish();
    const text = await readFile(path, "utf8");
    expect(done).toEqual({ records: 2, bytes: Buffer.byteLength(text) });
    expect(lines(text).map((l) => JSON.parse(l))).toEqual([
      { id: "r1", outputs: { y: [[1, 10]] } },
      { id: "t", outputs: { y: [[7, 8]] } },
    ]);
    await expect(readFile(partialPath(path))).rejects.toThrow(/ENOENT/);
  });

  it("resumes after a crash: each record once, in order", async () => {
    const path = join(dir, "out.jsonl");
    let sink = await openJsonlSink(path);
    await sink.write([out(1), out(2)]);
    const checkpoint: SinkCheckpoint = await sink.flush();
    await sink.write([out(3), out(4)]);
    await sink.flush(); // durable, but the runner died before storing this checkpoint
    await sink.write([out(5)]);
    await sink.close(); // the crash
    sink = await openJsonlSink(path, { checkpoint });
    await sink.write([out(3), out(4), out(5)]);
    expect((await sink.finish()).records).toBe(5);
    const ids = lines(await readFile(path, "utf8")).map((l) => JSON.parse(l).id);
    expect(ids).toEqual(["r1", "r2", "r3", "r4", "r5"]);
  });

  it("refuses a checkpoint longer than the temp file", async () => {
    const path = join(dir, "out.jsonl");
    await (await openJsonlSink(path)).close();
    await expect(openJsonlSink(path, { checkpoint: { records: 1, bytes: 10 } })).rejects.toThrow(
      /checkpoint at 10 bytes, file has 0/,
    );
  });

  it("never writes through a symlink planted as the temp file", async () => {
    const path = join(dir, "out.jsonl");
    await writeFile(join(dir, "victim"), "keep");
    await symlink(join(dir, "victim"), partialPath(path));
    await expect(openJsonlSink(path)).rejects.toThrow(/ELOOP/);
    expect(await readFile(join(dir, "victim"), "utf8")).toBe("keep");
  });

  it("abort removes the temp file", async () => {
    const path = join(dir, "out.jsonl");
    const sink = await openJsonlSink(path);
    await sink.write([out(1)]);
    await sink.abort();
    await expect(readFile(partialPath(path))).rejects.toThrow(/ENOENT/);
  });
});

describe("error sink", () => {
  it("writes {id, line, error} beside the output and resumes like the output", async () => {
    const output = join(dir, "out.csv");
    let sink = await openErrorSink(output);
    const bad = (line: number) => ({
      line,
      id: String(line),
      error: { code: "INVALID_REQUEST" as const, message: `bad ${line}` },
    });
    await sink.write([bad(2)]);
    const checkpoint = await sink.flush();
    await sink.write([bad(5)]);
    await sink.close();
    sink = await openErrorSink(output, { checkpoint });
    await sink.write([bad(5), bad(9)]);
    await sink.finish();
    expect(errorsPath(output)).toBe(`${output}.errors.jsonl`);
    const written = lines(await readFile(errorsPath(output), "utf8")).map((l) => JSON.parse(l));
    expect(written).toEqual([
      { id: "2", line: 2, error: { code: "INVALID_REQUEST", message: "bad 2" } },
      { id: "5", line: 5, error: { code: "INVALID_REQUEST", message: "bad 5" } },
      { id: "9", line: 9, error: { code: "INVALID_REQUEST", message: "bad 9" } },
    ]);
  });
});
