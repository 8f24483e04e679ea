/**
 * The spool behind the Parquet sink. A Parquet file cannot be appended to after a crash (its
 * index lives in the footer), so each flush writes the rows since the last one as a small,
 * complete Parquet file — a part — under `<out>.partial.d/`, named by its first record and row
 * count, written to a temp name, fsynced and renamed. Resuming from a checkpoint of R records
 * keeps exactly the parts that end at or before R and deletes the rest; `finish()` then streams
 * the parts, in order, into one file with large row groups.
 */
import { lstat, mkdir, readdir, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { InvalidRequestError } from "../../errors.js";
import { writeFileDurably } from "./durable-file.js";

/** One spooled part: rows [start, start + count) of the output. */
export interface Part {
  readonly start: number;
  readonly count: number;
  readonly path: string;
}

const PART_NAME = /^part-(\d{12})-(\d{9})\.parquet$/;
const TEMP_SUFFIX = ".tmp";

/** The spool directory of an output. */
export function spoolDir(finalPath: string): string {
  return `${finalPath}.partial.d`;
}

function partName(start: number, count: number): string {
  return `part-${String(start).padStart(12, "0")}-${String(count).padStart(9, "0")}.parquet`;
}

/**
 * Creates the spool directory; INVALID_REQUEST when something other than a real directory is in
 * its place (a symlink planted there would send the parts outside the data directory).
 */
export async function prepareSpool(dir: string): Promise<void> {
  const info = await lstat(dir).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) {
    throw new InvalidRequestError("the Parquet output's spool directory is not a directory");
  }
  await mkdir(dir, { recursive: true });
}

/** The parts in a spool directory, in order (temp files of a crashed write are removed). */
export async function listParts(dir: string): Promise<Part[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [] as string[];
    throw err;
  });
  const parts: Part[] = [];
  for (const name of names) {
    if (name.endsWith(TEMP_SUFFIX)) {
      await unlink(join(dir, name));
      continue;
    }
    const m = PART_NAME.exec(name);
    if (m) parts.push({ start: Number(m[1]), count: Number(m[2]), path: join(dir, name) });
  }
  return parts.sort((a, b) => a.start - b.start);
}

/**
 * Rolls the spool back to `records`: later parts are deleted; the kept ones must cover
 * [0, records) without a gap, else the spool is not the one the checkpoint was taken of.
 */
export async function rollBack(dir: string, records: number): Promise<Part[]> {
  const kept: Part[] = [];
  for (const part of await listParts(dir)) {
    if (part.start >= records) await unlink(part.path);
    else kept.push(part);
  }
  let next = 0;
  for (const part of kept) {
    if (part.start !== next) break;
    next += part.count;
  }
  if (next !== records) {
    throw new InvalidRequestError(
      `cannot resume the Parquet output: its spool holds ${next} of the checkpoint's ${records} rows`,
    );
  }
  return kept;
}

/** Writes one part durably: temp name, fsync, rename, fsync of the directory. */
export async function writePart(
  dir: string,
  start: number,
  count: number,
  bytes: ArrayBuffer,
): Promise<Part> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, partName(start, count));
  const temp = `${path}${TEMP_SUFFIX}`;
  await writeFileDurably(temp, path, (handle) => handle.writeFile(new Uint8Array(bytes)));
  return { start, count, path };
}

/** Total size of the parts, for the checkpoint's `bytes`. */
export async function partBytes(parts: readonly Part[]): Promise<number> {
  let total = 0;
  for (const part of parts) total += (await stat(part.path)).size;
  return total;
}

/** Removes the spool directory. */
export function removeSpool(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}
