/**
 * A million JSONL records streamed from a source to a sink with bounded memory: RSS grows by far
 * less than the file, let alone the records as objects (which would be several times the file).
 * The full-size throughput figures for every output format are in bench/batch-io.bench.ts.
 */
import { open, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openJsonlSink } from "../../../src/jobs/io/jsonl-sink.js";
import { openJsonlSource } from "../../../src/jobs/io/jsonl-source.js";
import { tempDir } from "../../support/batch-io.js";
import { pump, writeJsonl } from "./pump.js";

const COUNT = 1_000_000;
const MAX_RSS_GROWTH = 150 * 1024 * 1024;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeJsonl(join(dir, "in.jsonl"), COUNT);
});
afterAll(() => cleanup());

async function lastLine(path: string): Promise<string> {
  const { size } = await stat(path);
  const handle = await open(path, "r");
  const buffer = Buffer.alloc(200);
  await handle.read(buffer, 0, 200, size - 200);
  await handle.close();
  return buffer.toString().trimEnd().split("\n").pop() ?? "";
}

it("streams 1,000,000 JSONL records through source and sink with flat memory", async () => {
  const input = join(dir, "in.jsonl");
  const output = join(dir, "out.jsonl");
  const result = await pump(
    await openJsonlSource(input, { inputs: [] }),
    await openJsonlSink(output),
  );
  expect(result).toMatchObject({ records: COUNT, bad: 0 });
  expect(result.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
  expect((await stat(input)).size).toBeGreaterThan(MAX_RSS_GROWTH / 3);
  expect(JSON.parse(await lastLine(output))).toEqual({
    id: `r${COUNT}`,
    outputs: { x: [[COUNT, COUNT + 0.5, -COUNT, 0.25]] },
  });
}, 60_000);
