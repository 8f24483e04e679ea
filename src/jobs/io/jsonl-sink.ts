/**
 * JSON-lines sinks: the JSONL output (`{"id", "outputs"}` per record, outputs as the `/v1`
 * response has them) and the errors file beside every output (`{"id", "line", "error"}`). Both
 * append to `<path>.partial` and resume by truncating it to the checkpoint's byte length.
 */
import { DurableFile } from "./durable-file.js";
import { type Encoded, TextFileSink } from "./file-sink.js";
import { outputsObject } from "./outputs.js";
import { badRecordFrom } from "./records.js";
import type {
  BadRecord,
  ErrorSink,
  OutputRecord,
  RecordSink,
  SinkCheckpoint,
  SinkOptions,
} from "./types.js";

/** The errors file of an output: the output path with `.errors.jsonl` appended. */
export function errorsPath(outputPath: string): string {
  return `${outputPath}.errors.jsonl`;
}

/** One JSON line per record on a DurableFile. */
class JsonLinesSink<T extends { line: number; id: string }> extends TextFileSink<T> {
  private constructor(
    file: DurableFile,
    records: number,
    private readonly toJson: (record: T) => unknown,
  ) {
    super(file, records);
  }

  static async open<T extends { line: number; id: string }>(
    path: string,
    checkpoint: SinkCheckpoint | undefined,
    toJson: (record: T) => unknown,
  ): Promise<JsonLinesSink<T>> {
    const file = await DurableFile.open(path, checkpoint?.bytes);
    return new JsonLinesSink(file, checkpoint?.records ?? 0, toJson);
  }

  protected encode(records: readonly T[]): Encoded {
    const rejected: BadRecord[] = [];
    const lines: string[] = [];
    for (const record of records) {
      try {
        lines.push(`${JSON.stringify(this.toJson(record))}\n`);
      } catch (err) {
        // e.g. a BigInt in a hand-built outputs object: that record fails, not the batch.
        rejected.push(badRecordFrom(record.line, record.id, err));
      }
    }
    return { text: lines.join(""), rejected };
  }
}

/** The JSONL output sink at `path` (written as `<path>.partial` until finished). */
export function openJsonlSink(path: string, options: SinkOptions = {}): Promise<RecordSink> {
  return JsonLinesSink.open<OutputRecord>(path, options.checkpoint, (r) => ({
    id: r.id,
    outputs: outputsObject(r.outputs),
  }));
}

/** An errors sink writing `{"id", "line", "error"}` lines to the file at `path`. */
export function openErrorsFile(
  path: string,
  options: Pick<SinkOptions, "checkpoint"> = {},
): Promise<ErrorSink> {
  return JsonLinesSink.open<BadRecord>(path, options.checkpoint, (r) => ({
    id: r.id,
    line: r.line,
    error: { code: r.error.code, message: r.error.message },
  }));
}

/** The errors sink of the output at `outputPath` (`<outputPath>.errors.jsonl`). */
export function openErrorSink(
  outputPath: string,
  options: Pick<SinkOptions, "checkpoint"> = {},
): Promise<ErrorSink> {
  return openErrorsFile(errorsPath(outputPath), options);
}
