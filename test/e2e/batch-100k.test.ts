/**
 * The full-size check (slower: about 20 s on 2 cores): a 100,000-record MLP batch over the API on
 * a gateway in process, every output row compared with onnxruntime-node run directly on the same
 * features, in input order, and the 3 bad records in the errors file with their line numbers.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BAD_LINES, referenceLogits, writeMlpJsonl } from "../jobs/batch-data.js";
import { goodLines, mlpConfig, postBatch, waitForBatch } from "../jobs/batch-helpers.js";
import { startTestGateway, type TestGateway } from "./harness.js";

const RECORDS = 100_000;
/** Reference rows computed per slice, so the test never holds 100k × 256 features at once. */
const SLICE = 8192;
let gw: TestGateway | undefined;
let root: string | undefined;

afterAll(async () => {
  await gw?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("a 100,000-record batch", () => {
  it("matches onnxruntime on every record, in input order", async () => {
    root = mkdtempSync(join(tmpdir(), "infergate-batch-100k-"));
    const dataDir = join(root, "files");
    mkdirSync(dataDir, { recursive: true });
    await writeMlpJsonl(join(dataDir, "in.jsonl"), RECORDS, "input");
    gw = await startTestGateway(
      mlpConfig(`dir: ${join(root, "jobs")}
      dataDir: ${dataDir}`),
    );
    const created = await postBatch(gw.url, {
      model: "mlp",
      input: { path: "in.jsonl" },
      output: { path: "out.jsonl" },
    });
    const done = await waitForBatch(gw.url, created.body.id, undefined, 120_000, 200);
    expect(done.status).toBe("succeeded");
    expect(done.counts).toEqual({ total: RECORDS, done: RECORDS, failed: 3 });

    const lines = readFileSync(join(dataDir, "out.jsonl"), "utf8").trim().split("\n");
    const good = goodLines(RECORDS);
    expect(lines).toHaveLength(good.length);
    let worst = 0;
    for (let from = 0; from < good.length; from += SLICE) {
      const slice = good.slice(from, from + SLICE);
      const { logits } = await referenceLogits(slice);
      slice.forEach((line, i) => {
        const record = JSON.parse(lines[from + i] as string) as {
          id: string;
          outputs: { logits: number[][] };
        };
        expect(record.id).toBe(`r${line}`);
        const row = record.outputs.logits[0] ?? [];
        const want = logits[i] as Float32Array;
        expect(row).toHaveLength(want.length);
        for (let k = 0; k < want.length; k++) {
          worst = Math.max(worst, Math.abs((row[k] as number) - (want[k] as number)));
        }
      });
    }
    // Same model, same FP32 kernels: only batch-size dependent rounding may differ.
    expect(worst).toBeLessThan(1e-4);
    const errors = readFileSync(join(dataDir, "out.jsonl.errors.jsonl"), "utf8").trim().split("\n");
    expect(errors.map((e) => (JSON.parse(e) as { line: number }).line)).toEqual([
      ...BAD_LINES.keys(),
    ]);
  }, 180_000);
});
