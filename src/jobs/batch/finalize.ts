/**
 * The last step of a sharded batch on Redis (redis-batches.ts), once every shard is done: the
 * part files joined in order into the output and the errors file, and the batch's final record
 * (failed when more records failed than `maxErrors` allows).
 */
import { concatParts, removeParts, type ShardPlan } from "./shards.js";
import type { BatchRecord } from "./types.js";

/** Concatenates the shards' parts into the batch's output and errors file, then drops them. */
export async function joinParts(
  dataDir: string,
  batch: BatchRecord,
  shards: readonly ShardPlan[],
): Promise<void> {
  const spec = batch.spec;
  if (!("path" in spec.output) || !shards.every((s) => s.part !== undefined)) return;
  const csv = (spec.output.format ?? spec.format) === "csv";
  await concatParts(
    dataDir,
    shards.map((s) => s.part as string),
    spec.output.path,
    csv,
  );
  await concatParts(
    dataDir,
    shards.map((s) => s.errorsPath),
    batch.errorsPath,
    false,
  );
  await removeParts(dataDir, batch.id);
}

/** The final record of a batch whose shards all ran, from its summed shard counts. */
export function finishedBatch(summed: BatchRecord, now: number): BatchRecord {
  const counts = { ...summed.counts, total: summed.counts.done };
  const maxErrors = summed.spec.maxErrors;
  const failed = maxErrors !== undefined && counts.failed > maxErrors;
  return {
    ...summed,
    counts,
    status: failed ? "failed" : "succeeded",
    finishedAt: now,
    ...(failed
      ? {
          error: {
            code: "INVALID_REQUEST",
            message: `${counts.failed} records failed, more than maxErrors (${maxErrors})`,
          },
        }
      : {}),
  };
}
