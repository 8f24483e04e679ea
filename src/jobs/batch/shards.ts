/**
 * How a batch on Redis is cut into shards and put back together. A JSONL or CSV file input with
 * a JSONL or CSV file output is split into ranges of `jobs.batch.shardRecords` records, each
 * written to its own part file under `.batches/<id>/`; the finalizing step concatenates the parts
 * in order (a CSV part's header only once) into the output and the errors file, through a temp
 * name and a rename. Other inputs and outputs (Parquet, Postgres) run as one shard straight into
 * the output.
 */
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { errorsPath } from "../io/jsonl-sink.js";
import { resolveDataPath } from "../io/paths.js";
import type { BatchSpec } from "./types.js";

/** One shard: records [start, start + count) of the input, and where it writes. */
export interface ShardPlan {
  readonly index: number;
  readonly start: number;
  readonly count: number;
  /** The part's output path (relative to the data dir), or undefined: the batch's own output. */
  readonly part?: string;
  readonly errorsPath: string;
}

/** True when the batch can be split: line-based files in and out. */
export function shardable(spec: BatchSpec): boolean {
  const lineBased = (f: string | undefined) => f === undefined || f === "jsonl" || f === "csv";
  return (
    "path" in spec.input &&
    "path" in spec.output &&
    lineBased(spec.input.format ?? spec.format) &&
    lineBased(spec.output.format ?? spec.format)
  );
}

/** The batch's shards. */
export function planShards(
  id: string,
  spec: BatchSpec,
  total: number | null,
  shardRecords: number,
  batchErrorsPath: string,
): ShardPlan[] {
  if (total === null || !shardable(spec)) {
    return [
      { index: 0, start: 0, count: total ?? Number.MAX_SAFE_INTEGER, errorsPath: batchErrorsPath },
    ];
  }
  const shards: ShardPlan[] = [];
  const n = Math.max(1, Math.ceil(total / shardRecords));
  for (let i = 0; i < n; i++) {
    const part = `.batches/${id}/part-${String(i).padStart(5, "0")}`;
    const start = i * shardRecords;
    // The last shard takes whatever is left (the count was an estimate for CSV).
    const count = i === n - 1 ? Number.MAX_SAFE_INTEGER : shardRecords;
    shards.push({ index: i, start, count, part, errorsPath: errorsPath(part) });
  }
  return shards;
}

async function appendFile(
  target: import("node:fs/promises").FileHandle,
  path: string,
  skipFirstLine: boolean,
): Promise<void> {
  let skipping = skipFirstLine;
  try {
    for await (const chunk of createReadStream(path)) {
      let bytes = chunk as Buffer;
      if (skipping) {
        const nl = bytes.indexOf(0x0a);
        if (nl === -1) continue;
        bytes = bytes.subarray(nl + 1);
        skipping = false;
      }
      await target.write(bytes);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** Concatenates the parts in order into `output`, durably, then removes the parts. */
export async function concatParts(
  dataDir: string,
  parts: readonly string[],
  output: string,
  csvHeader: boolean,
): Promise<void> {
  const target = await resolveDataPath(dataDir, output, { createParents: true });
  await mkdir(dirname(target), { recursive: true });
  const temp = `${target}.partial`;
  const file = await open(temp, "w");
  try {
    for (const [i, part] of parts.entries()) {
      await appendFile(file, await resolveDataPath(dataDir, part), csvHeader && i > 0);
    }
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, target);
}

/** Removes a batch's part files. */
export async function removeParts(dataDir: string, id: string): Promise<void> {
  await rm(await resolveDataPath(dataDir, `.batches/${id}`), { recursive: true, force: true });
}

/** The spec one shard runs: the batch's, writing to the shard's part file when it has one. */
export function shardSpec(spec: BatchSpec, shard: ShardPlan): BatchSpec {
  if (shard.part === undefined) return spec;
  return {
    ...spec,
    output: {
      path: shard.part,
      ...("path" in spec.output && spec.output.format ? { format: spec.output.format } : {}),
    },
  };
}
