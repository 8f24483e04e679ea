/**
 * Batch I/O throughput at full size: 1,000,000 JSONL records (a 4-element row vector each)
 * streamed from the JSONL source into each output format (outputs = inputs, no model), then each
 * output read back by its own source. Records/s and the RSS growth over the run, which stays flat
 * because nothing holds more than a chunk, a row group or a cursor page.
 *
 * Env: BENCH_BATCH_IO_RECORDS (default 1,000,000).
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "vitest";
import { openCsvSink } from "../src/jobs/io/csv-sink.js";
import { openCsvSource } from "../src/jobs/io/csv-source.js";
import { openJsonlSink } from "../src/jobs/io/jsonl-sink.js";
import { openJsonlSource } from "../src/jobs/io/jsonl-source.js";
import { openParquetSink } from "../src/jobs/io/parquet-sink.js";
import { openParquetSource } from "../src/jobs/io/parquet-source.js";
import type { RecordSink, RecordSource } from "../src/jobs/io/types.js";
import type { TensorSpec } from "../src/tensor/index.js";
import { pump, writeJsonl } from "../test/jobs/io/pump.js";
import { envNumber, num, table, writeResult } from "./report.js";

const COUNT = envNumber("BENCH_BATCH_IO_RECORDS", 1_000_000);
const specs: TensorSpec[] = [{ name: "x", datatype: "FP64", shape: [-1, 4] }];

/** A sink that drops everything: measures a source alone. */
const nullSink: RecordSink = {
  write: async () => [],
  flush: async () => ({ records: 0, bytes: 0 }),
  finish: async () => ({ records: 0, bytes: 0 }),
  abort: async () => undefined,
  close: async () => undefined,
};

it("batch I/O throughput", async () => {
  const dir = await mkdtemp(join(tmpdir(), "infergate-bench-io-"));
  try {
    const input = join(dir, "in.jsonl");
    await writeJsonl(input, COUNT);
    const rows: string[][] = [];
    const cell = async (name: string, source: RecordSource, sink: RecordSink, file?: string) => {
      const r = await pump(source, sink);
      const size = file ? `${num((await stat(file)).size / 1e6, 1)} MB` : "—";
      rows.push([
        name,
        String(r.records),
        num(r.records / r.seconds, 0),
        num(r.rssGrowth / 1e6, 0),
        size,
      ]);
    };
    const out = (ext: string) => join(dir, `out.${ext}`);
    const src = () => openJsonlSource(input, { inputs: specs });
    await cell("JSONL → JSONL", await src(), await openJsonlSink(out("jsonl")), out("jsonl"));
    await cell("JSONL → CSV", await src(), await openCsvSink(out("csv")), out("csv"));
    await cell(
      "JSONL → Parquet",
      await src(),
      await openParquetSink(out("parquet")),
      out("parquet"),
    );
    await cell("JSONL source alone", await src(), nullSink);
    await cell("CSV source alone", await openCsvSource(out("csv"), { inputs: specs }), nullSink);
    await cell(
      "Parquet source alone",
      await openParquetSource(out("parquet"), { inputs: specs }),
      nullSink,
    );
    writeResult("batch-io", [
      `${COUNT.toLocaleString("en-US")} records of a 4-element FP64 row vector; one process, batches of 256, a flush every 65,536 records.`,
      "",
      ...table(["path", "records", "records/s", "RSS growth (MB)", "output size"], rows),
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
