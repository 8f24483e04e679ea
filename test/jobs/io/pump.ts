/**
 * Streams a large JSONL file through a source and a sink, as a batch runner would (without a
 * model: each record's outputs are its inputs), sampling RSS to show memory stays flat. Shared
 * by the streaming test and bench/batch-io.bench.ts.
 */
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { isBadRecord, type RecordSink, type RecordSource } from "../../../src/jobs/io/types.js";

/** Writes `count` JSONL records of a 4-element row vector, streamed (never all in memory). */
export async function writeJsonl(path: string, count: number): Promise<void> {
  const out = createWriteStream(path);
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) {
    lines.push(`{"id":"r${i}","inputs":{"x":[[${i},${i + 0.5},${-i},0.25]]}}\n`);
    if (lines.length === 4096 || i === count) {
      if (!out.write(lines.join(""))) await once(out, "drain");
      lines.length = 0;
    }
  }
  out.end();
  await once(out, "finish");
}

type Outputs = Record<string, unknown>;

/** What a pump saw. */
export interface PumpResult {
  readonly records: number;
  readonly bad: number;
  /** Highest RSS seen minus RSS at the start, in bytes. */
  readonly rssGrowth: number;
  readonly seconds: number;
}

/** Pumps every record from `source` to `sink` in batches of `batchSize`, flushing every 64k. */
export async function pump(
  source: RecordSource,
  sink: RecordSink,
  batchSize = 256,
): Promise<PumpResult> {
  const start = performance.now();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  let records = 0;
  let bad = 0;
  let batch: { line: number; id: string; outputs: Outputs }[] = [];
  for await (const record of source) {
    records++;
    if (isBadRecord(record)) bad++;
    else batch.push({ line: record.line, id: record.id, outputs: record.inputs as Outputs });
    if (batch.length === batchSize) {
      await sink.write(batch);
      batch = [];
    }
    if (records % 65_536 === 0) {
      await sink.flush();
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  await sink.write(batch);
  await sink.finish();
  peak = Math.max(peak, process.memoryUsage().rss);
  return { records, bad, rssGrowth: peak - rss0, seconds: (performance.now() - start) / 1000 };
}
