/**
 * Batch formats end to end on a gateway in process: an iris CSV scored into a CSV (columns mapped
 * by a `columns` list), the same into Parquet (`output.format`), and a Postgres query into a
 * Postgres table on a real PostgreSQL (allowed by jobs.postgres.allowedHosts). Every variant's
 * values match onnxruntime-node run directly on the same rows.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import * as ort from "onnxruntime-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BatchView, postBatch, waitForBatch } from "../jobs/batch-helpers.js";
import { skipWithoutPostgres, startPostgres, type TestPostgres } from "../support/postgres.js";
import { MODELS_DIR, startTestGateway, type TestGateway } from "./harness.js";

const COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
const ROWS = Array.from({ length: 300 }, (_, i) => [
  4.3 + (i % 36) / 10,
  2.0 + (i % 24) / 10,
  1.0 + (i % 59) / 10,
  0.1 + (i % 25) / 10,
]);
let gw: TestGateway;
let dataDir: string;
let expected: { probabilities: number[][]; label: number[] };

async function runBatch(body: unknown): Promise<BatchView> {
  const res = await postBatch(gw.url, body);
  expect(res.status).toBe(202);
  return waitForBatch(gw.url, res.body.id);
}

async function irisDirect(
  rows: number[][],
): Promise<{ probabilities: number[][]; label: number[] }> {
  const session = await ort.InferenceSession.create(join(MODELS_DIR, "iris/1/model.onnx"));
  const data = Float32Array.from(rows.flat());
  const out = await session.run({ input: new ort.Tensor("float32", data, [rows.length, 4]) });
  const probs = out.probabilities?.data as Float32Array;
  const labels = out.label?.data as BigInt64Array;
  await session.release();
  return {
    probabilities: rows.map((_, r) => Array.from(probs.slice(r * 3, r * 3 + 3))),
    label: Array.from(labels, Number),
  };
}

function expectIris(row: Record<string, unknown>, r: number): void {
  for (let k = 0; k < 3; k++) {
    expect(Number(row[`probabilities.${k}`])).toBeCloseTo(
      expected.probabilities[r]?.[k] as number,
      5,
    );
  }
  expect(Number(row.label)).toBe(expected.label[r]);
}

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), "infergate-batch-fmt-"));
  dataDir = join(root, "files");
  mkdirSync(dataDir, { recursive: true });
  const csv = [`flower,${COLUMNS.join(",")}`, ...ROWS.map((r, i) => `f${i + 1},${r.join(",")}`)];
  writeFileSync(join(dataDir, "iris.csv"), `${csv.join("\n")}\n`);
  expected = await irisDirect(ROWS);
  gw = await startTestGateway(`server: { host: 127.0.0.1, port: 0 }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  iris:
    versions: { "1": { backend: local, model: iris, version: "1" } }
jobs:
  dir: ${join(root, "jobs")}
  dataDir: ${dataDir}
  postgres: { allowedHosts: ["127.0.0.1"] }
  batch: { chunkRecords: 64, rowsPerCall: 16 }
`);
}, 30_000);

afterAll(async () => {
  await gw?.stop();
});

const irisBatch = { model: "iris", format: "csv", idField: "flower", columns: COLUMNS };

describe("batch formats", () => {
  it("scores a CSV into a CSV, in order, with the id column first", async () => {
    const done = await runBatch({
      ...irisBatch,
      input: { path: "iris.csv" },
      output: { path: "scored.csv" },
    });
    expect(done.status).toBe("succeeded");
    expect(done.counts).toEqual({ total: ROWS.length, done: ROWS.length, failed: 0 });
    const [header, ...lines] = readFileSync(join(dataDir, "scored.csv"), "utf8").trim().split("\n");
    const names = (header ?? "").split(",");
    expect(names[0]).toBe("id");
    expect(lines).toHaveLength(ROWS.length);
    lines.forEach((line, r) => {
      const cells = line.split(",");
      const row = Object.fromEntries(names.map((n, i) => [n, cells[i]]));
      expect(row.id).toBe(`f${r + 1}`);
      expectIris(row, r);
    });
  });

  it("scores a CSV into Parquet", async () => {
    const done = await runBatch({
      ...irisBatch,
      input: { path: "iris.csv" },
      output: { path: "scored.parquet", format: "parquet" },
    });
    expect(done.status).toBe("succeeded");
    const rows = (await parquetReadObjects({
      file: await asyncBufferFromFile(join(dataDir, "scored.parquet")),
    })) as Record<string, unknown>[];
    expect(rows).toHaveLength(ROWS.length);
    rows.forEach((row, r) => {
      expect(row.id).toBe(`f${r + 1}`);
      expectIris(row, r);
    });
  });

  describe.skipIf(skipWithoutPostgres())("Postgres", () => {
    let server: TestPostgres;
    let db: pg.Client;
    beforeAll(async () => {
      server = await startPostgres();
      db = new pg.Client(server.url);
      await db.connect();
      await db.query(
        `CREATE TABLE iris (flower text, ${COLUMNS.map((c) => `${c} float8`).join(", ")})`,
      );
      for (const [i, r] of ROWS.entries()) {
        await db.query("INSERT INTO iris VALUES ($1, $2, $3, $4, $5)", [`f${i + 1}`, ...r]);
      }
    }, 60_000);
    afterAll(async () => {
      await db?.end();
      await server?.stop();
    });

    it("scores a query into a table", async () => {
      const url = server.url.replace("localhost", "127.0.0.1");
      const done = await runBatch({
        ...irisBatch,
        format: undefined,
        input: { postgres: { url, query: 'SELECT * FROM iris ORDER BY flower COLLATE "C"' } },
        output: { postgres: { url, table: "iris_scores" } },
      });
      expect(done.status).toBe("succeeded");
      const { rows } = await db.query("SELECT * FROM iris_scores");
      expect(rows).toHaveLength(ROWS.length);
      const byId = new Map(rows.map((row: Record<string, unknown>) => [row.id, row]));
      for (let r = 0; r < ROWS.length; r++) {
        expectIris(byId.get(`f${r + 1}`) as Record<string, unknown>, r);
      }
    }, 60_000);
  });
});
