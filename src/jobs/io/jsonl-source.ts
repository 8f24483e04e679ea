/**
 * JSONL input: one `{"id"?, "inputs": ...}` object per line, `inputs` as `/v1/predict` takes it.
 * A line that is not such an object is a bad record carrying its line number; blank lines are not
 * records (they keep their place in the line numbering).
 */
import { createReadStream } from "node:fs";
import { isRecord } from "../../is-record.js";
import { readLines } from "./lines.js";
import {
  DEFAULT_MAX_RECORD_BYTES,
  idFromValue,
  inputFileError,
  invalidRecord,
  sourceFrom,
} from "./records.js";
import type { RecordSource, SourceOptions, SourceRecord } from "./types.js";

/** Read-ahead of the file stream: one chunk in flight while records are consumed. */
const READ_CHUNK_BYTES = 64 * 1024;

/** One JSONL line as a record or a bad record. */
export function parseJsonlRecord(line: number, text: string, idField?: string): SourceRecord {
  const fallbackId = String(line);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return invalidRecord(line, fallbackId, `malformed JSON: ${(err as Error).message}`);
  }
  if (!isRecord(value)) {
    return invalidRecord(line, fallbackId, `a record must be a JSON object with "inputs"`);
  }
  const key = idField ?? "id";
  const rawId = value[key];
  const id = idFromValue(rawId);
  if (id === undefined && (idField !== undefined || (rawId !== undefined && rawId !== null))) {
    const why = rawId === undefined ? "is missing" : "must be a non-empty string or a number";
    return invalidRecord(line, fallbackId, `"${key}" ${why}`);
  }
  const inputs = value.inputs;
  if (!Array.isArray(inputs) && !isRecord(inputs)) {
    return invalidRecord(
      line,
      id ?? fallbackId,
      `"inputs" is required: an object of input name -> tensor, or a tensor`,
    );
  }
  return { line, id: id ?? fallbackId, inputs };
}

/** Streams the records of a JSONL file, skipping the first `options.start` records. */
export async function openJsonlSource(path: string, options: SourceOptions): Promise<RecordSource> {
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
  await new Promise<void>((resolve, reject) => {
    stream.once("ready", () => resolve());
    stream.once("error", (err) => reject(inputFileError(err, path)));
  });
  const maxBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const start = options.start ?? 0;
  async function* records(): AsyncGenerator<SourceRecord> {
    let seen = 0;
    for await (const l of readLines(stream, maxBytes)) {
      if ("text" in l && l.text.trim() === "") continue;
      seen++;
      if (seen <= start) continue;
      if ("tooLong" in l) {
        yield invalidRecord(l.line, String(l.line), `record is over ${maxBytes} bytes`);
      } else {
        yield parseJsonlRecord(l.line, l.text, options.idField);
      }
    }
  }
  return sourceFrom(records(), () => {
    stream.destroy();
  });
}
