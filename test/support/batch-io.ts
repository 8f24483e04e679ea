/**
 * Shared test helpers for the batch I/O tests: a temp directory per test and collecting a source.
 * (Excluded from the build like every `test-*.ts` file.)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RecordSource, SourceRecord } from "../../src/jobs/io/types.js";

/** A fresh temp directory and its cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "infergate-io-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Every record of a source, then closes it. */
export async function collect(source: RecordSource): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  try {
    for await (const record of source) out.push(record);
  } finally {
    await source.close();
  }
  return out;
}
