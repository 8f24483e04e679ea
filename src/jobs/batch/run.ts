/**
 * Runs one batch from its last checkpoint to the end: reads records a chunk ahead, predicts a
 * chunk while the next is read, writes outcomes in input order, then flushes both sinks and hands
 * their checkpoints to `onCheckpoint` (which stores them durably) before the next chunk is
 * written. A restart reopens the sinks at the stored checkpoints (dropping anything written after)
 * and the source at the sum of both, so every record lands exactly once, in order.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type GatewayError, toGatewayError } from "../../errors.js";
import type { InferenceService } from "../../gateway/types.js";
import type { DecodeLimits } from "../../tensor/index.js";
import { type OutputCheckpoints, openBatchOutput, openBatchSource } from "../io/open.js";
import type { BadRecord, OutputRecord, RecordError, SourceRecord } from "../io/types.js";
import { resumePosition } from "../io/types.js";
import type { BatchSettings } from "./config.js";
import { countRecords } from "./count.js";
import { type Outcome, predictChunk } from "./predict.js";
import type { TargetSlots } from "./slots.js";
import type { BatchCounts, BatchSpec } from "./types.js";

/** Why a run stops early: a cancel discards the output; a stop keeps it for a resume. */
export type StopReason = "cancel" | "stop";

/** What a run needs. */
export interface RunOptions {
  readonly id: string;
  readonly spec: BatchSpec;
  readonly service: InferenceService;
  /** Where input and output paths are resolved (the data dir; the CLI uses the files' own dirs). */
  readonly inputDir: string;
  readonly outputDir: string;
  readonly errorsPath: string;
  readonly settings: BatchSettings;
  readonly slots: TargetSlots;
  readonly limits: DecodeLimits;
  /** Resume from here. */
  readonly checkpoints?: OutputCheckpoints;
  /** Only these input records (a shard): `count` records after the first `start`. */
  readonly range?: { readonly start: number; readonly count: number };
  /** Aborted with a {@link StopReason}. */
  readonly signal: AbortSignal;
  /** Stores progress durably; awaited before the next chunk is written. */
  readonly onCheckpoint: (progress: RunProgress) => Promise<void>;
  /** Reports a backend outage pausing the run (true), and its end (false). */
  readonly onPause?: (paused: boolean, error: GatewayError) => void;
}

/** Progress after a flushed chunk. */
export interface RunProgress {
  readonly counts: BatchCounts;
  readonly checkpoints: OutputCheckpoints;
  readonly version: string;
}

/** How a run ended. */
export type RunResult =
  | { readonly kind: "succeeded"; readonly counts: BatchCounts }
  | { readonly kind: "failed"; readonly counts: BatchCounts; readonly error: RecordError }
  | { readonly kind: "cancelled" | "stopped"; readonly counts: BatchCounts };

function stopReason(signal: AbortSignal): StopReason | undefined {
  if (!signal.aborted) return undefined;
  return signal.reason === "cancel" ? "cancel" : "stop";
}

/** Reads up to `size` records, or fewer at the end. */
async function readChunk(
  iterator: AsyncIterator<SourceRecord>,
  size: number,
): Promise<SourceRecord[]> {
  const chunk: SourceRecord[] = [];
  if (size <= 0) return chunk;
  while (chunk.length < size) {
    const next = await iterator.next();
    if (next.done) break;
    chunk.push(next.value);
  }
  return chunk;
}

/** Runs the batch; never throws for record-level or backend problems (they are the result). */
export async function runBatch(options: RunOptions): Promise<RunResult> {
  const { spec, service, signal, settings } = options;
  const release = service.hold();
  const start = options.checkpoints
    ? resumePosition(options.checkpoints.output, options.checkpoints.errors)
    : 0;
  const counts: BatchCounts = {
    total: null,
    done: start,
    failed: options.checkpoints?.errors.records ?? 0,
  };
  try {
    const route = service.resolve(spec.model, spec.version, () => undefined);
    const metadata = await service.metadata(route);
    const { range } = options;
    counts.total =
      range?.count ?? (await countRecords(spec.input, spec.format ?? "jsonl", options.inputDir));
    let remaining = range === undefined ? Number.POSITIVE_INFINITY : range.count - start;
    const nextChunk = async () => {
      const chunk = await readChunk(iterator, Math.min(settings.chunkRecords, remaining));
      remaining -= chunk.length;
      return chunk;
    };
    const mapping = {
      inputs: metadata.inputs,
      ...(spec.columns ? { columns: spec.columns } : {}),
      ...(spec.idField ? { idField: spec.idField } : {}),
    };
    const source = await openBatchSource(spec.input, spec.format, options.inputDir, {
      ...mapping,
      start: (range?.start ?? 0) + start,
    });
    let out: Awaited<ReturnType<typeof openBatchOutput>>;
    try {
      out = await openBatchOutput(spec.output, spec.format, options.outputDir, {
        batchId: options.id,
        outputs: metadata.outputs,
        errorsPath: options.errorsPath,
        ...(options.checkpoints ? { checkpoints: options.checkpoints } : {}),
      });
    } catch (err) {
      await source.close();
      throw err;
    }
    const context = {
      service,
      route,
      inputs: metadata.inputs,
      limits: options.limits,
      rowsPerCall: settings.rowsPerCall,
      slots: options.slots,
      outageTimeoutMs: settings.outageTimeoutMs,
      requestId: options.id,
      signal,
      ...(options.onPause ? { onPause: options.onPause } : {}),
    };
    const iterator = source[Symbol.asyncIterator]();
    let ended: RunResult | undefined;
    try {
      let chunk = await nextChunk();
      while (chunk.length > 0 && !signal.aborted) {
        const chunkStarted = performance.now();
        const predicting = predictChunk(chunk, context);
        // Read the next chunk while this one is predicted.
        const [outcomes, next] = await Promise.all([predicting, nextChunk()]);
        await writeOutcomes(outcomes, out, counts);
        const checkpoints = { output: await out.sink.flush(), errors: await out.errors.flush() };
        await options.onCheckpoint({ counts: { ...counts }, checkpoints, version: route.version });
        if (spec.maxErrors !== undefined && counts.failed > spec.maxErrors) {
          ended = {
            kind: "failed",
            counts,
            error: {
              code: "INVALID_REQUEST",
              message: `${counts.failed} records failed, more than maxErrors (${spec.maxErrors})`,
            },
          };
          await out.errors.finish();
          await out.sink.abort();
          return ended;
        }
        chunk = next;
        // While live traffic flows, the batch's event-loop work (parsing, encoding, writing)
        // yields too: a pause as long as the chunk took keeps it to about half the loop.
        if (options.slots.live) {
          await sleep(performance.now() - chunkStarted, undefined, { signal }).catch(
            () => undefined,
          );
        }
      }
      const reason = stopReason(signal);
      if (reason === "cancel") {
        await Promise.all([out.sink.abort(), out.errors.abort()]);
        return { kind: "cancelled", counts };
      }
      if (reason === "stop") {
        await Promise.all([out.sink.close(), out.errors.close()]);
        return { kind: "stopped", counts };
      }
      await out.sink.finish();
      await out.errors.finish();
      counts.total = counts.done;
      return { kind: "succeeded", counts };
    } catch (err) {
      const reason = stopReason(signal);
      if (reason === "cancel") {
        await Promise.allSettled([out.sink.abort(), out.errors.abort()]);
        return { kind: "cancelled", counts };
      }
      // Anything else keeps what was flushed: a restart (or a stop) resumes from there.
      await Promise.allSettled([out.sink.close(), out.errors.close()]);
      if (reason === "stop") return { kind: "stopped", counts };
      throw err;
    } finally {
      await source.close();
    }
  } catch (err) {
    const error = toGatewayError(err);
    return { kind: "failed", counts, error: { code: error.code, message: error.message } };
  } finally {
    release();
  }
}

async function writeOutcomes(
  outcomes: readonly Outcome[],
  out: Awaited<ReturnType<typeof openBatchOutput>>,
  counts: BatchCounts,
): Promise<void> {
  const good: OutputRecord[] = [];
  const bad: BadRecord[] = [];
  for (const outcome of outcomes) {
    if ("ok" in outcome) good.push(outcome.ok);
    else bad.push(outcome.bad);
  }
  const unfit = await out.sink.write(good);
  const errors = unfit.length === 0 ? bad : [...bad, ...unfit].sort((a, b) => a.line - b.line);
  if (errors.length > 0) await out.errors.write(errors);
  counts.done += outcomes.length;
  counts.failed += errors.length;
}
