/**
 * The CLI's checkpoint: a small JSON file beside the output (`<output>.checkpoint.json`), written
 * to a temp name, fsynced and renamed after every flushed chunk, so `--resume` after Ctrl-C or a
 * crash starts exactly where the last durable chunk ended.
 */
import { open, readFile, rename, rm } from "node:fs/promises";
import type { OutputCheckpoints } from "../io/open.js";
import type { BatchCounts } from "./types.js";

/** What the CLI keeps between runs. */
export interface CliCheckpoint {
  readonly id: string;
  readonly checkpoints: OutputCheckpoints;
  readonly counts: BatchCounts;
}

/** The stored checkpoint, or undefined when there is none. */
export async function readCheckpoint(path: string): Promise<CliCheckpoint | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as CliCheckpoint;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Stores a checkpoint durably (temp file, fsync, rename). */
export async function writeCheckpoint(path: string, value: CliCheckpoint): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await open(temp, "w");
  try {
    await file.writeFile(JSON.stringify(value));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
}

/** Removes the checkpoint once the batch is done. */
export async function removeCheckpoint(path: string): Promise<void> {
  await rm(path, { force: true });
}
