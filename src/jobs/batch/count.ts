/**
 * The record count of a file input, for progress and ETA: non-blank lines of a JSONL file, lines
 * after the header of a CSV file (a quoted field spanning lines makes this an estimate). Parquet
 * and Postgres inputs report no total (null) rather than a second pass over the data.
 */
import { createReadStream } from "node:fs";
import type { BatchLocation } from "../io/open.js";
import { resolveDataPath } from "../io/paths.js";
import type { IoFormat } from "../io/types.js";

const NEWLINE = 0x0a;

/** Counts lines holding something other than spaces, tabs and CR. */
async function contentLines(path: string): Promise<number> {
  let count = 0;
  let filled = false;
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
    const bytes = chunk as Buffer;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      if (b === NEWLINE) {
        if (filled) count++;
        filled = false;
      } else if (b !== 0x20 && b !== 0x09 && b !== 0x0d) {
        filled = true;
      }
    }
  }
  return filled ? count + 1 : count;
}

/** The input's record count, or null when it is not known without reading the data. */
export async function countRecords(
  location: BatchLocation,
  format: IoFormat,
  dataDir: string,
): Promise<number | null> {
  if ("postgres" in location) return null;
  const fileFormat = location.format ?? format;
  if (fileFormat === "parquet") return null;
  try {
    const lines = await contentLines(await resolveDataPath(dataDir, location.path));
    return fileFormat === "csv" ? Math.max(0, lines - 1) : lines;
  } catch {
    // The source reports a missing or unreadable file with a clear error; the count just stays unknown.
    return null;
  }
}
