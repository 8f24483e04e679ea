/**
 * Helpers of the batch end-to-end tests: the batch object as tests read it, submitting and
 * polling over HTTP, an MLP gateway config, and the exactly-once check of an output.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { MODELS_DIR } from "../e2e/harness.js";
import { BAD_LINES } from "./batch-data.js";

/** The batch object (the fields tests read). */
export interface BatchView {
  id: string;
  status: string;
  counts: { total: number | null; done: number; failed: number };
  errors: { path: string };
  error?: { code: string; message: string };
}

/** POSTs a batch; the status and the answer. */
export async function postBatch(
  url: string,
  body: unknown,
): Promise<{ status: number; body: BatchView }> {
  const res = await fetch(`${url}/v1/batches`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as BatchView };
}

/** The batch as the gateway at `url` reports it. */
export async function batchOf(url: string, id: string): Promise<BatchView> {
  return (await (await fetch(`${url}/v1/batches/${id}`)).json()) as BatchView;
}

/** Polls every `everyMs` until `done` holds (default: a final status); throws after `ms`. */
export async function waitForBatch(
  url: string,
  id: string,
  done: (b: BatchView) => boolean = (b) => ["succeeded", "failed", "cancelled"].includes(b.status),
  ms = 90_000,
  everyMs = 50,
): Promise<BatchView> {
  const until = Date.now() + ms;
  for (;;) {
    const batch = await batchOf(url, id);
    if (done(batch)) return batch;
    if (Date.now() > until) throw new Error(`batch still ${batch.status} at ${batch.counts.done}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A gateway config serving the MLP in process, with a `jobs` block of `jobs` lines. */
export function mlpConfig(jobs: string, server = "server: { host: 127.0.0.1, port: 0 }"): string {
  return `${server}
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  mlp:
    versions: { "1": { backend: local, model: mlp, version: "1" } }
jobs:
${jobs
  .trim()
  .split("\n")
  .map((l) => `  ${l.trim()}`)
  .join("\n")}
`;
}

/** The 1-based lines of `records` that are good records (not in BAD_LINES). */
export function goodLines(records: number): number[] {
  return Array.from({ length: records }, (_, i) => i + 1).filter((l) => !BAD_LINES.has(l));
}

/** Checks a JSONL output holds every good record once, in order, and its errors file the bad. */
export function expectExactlyOnce(dir: string, output: string, records: number): void {
  const ids = readFileSync(join(dir, output), "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { id: string }).id);
  expect(ids).toEqual(goodLines(records).map((l) => `r${l}`));
  const errors = readFileSync(join(dir, `${output}.errors.jsonl`), "utf8")
    .trim()
    .split("\n");
  expect(errors.map((e) => (JSON.parse(e) as { line: number }).line)).toEqual([
    ...BAD_LINES.keys(),
  ]);
}
