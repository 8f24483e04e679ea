/**
 * Batches end to end on a gateway in process with the MLP: a JSONL batch over the API whose
 * output matches onnxruntime-node run directly, in input order, with the bad records in the
 * errors file by line; file upload/download confined to the data dir; Postgres refused without
 * jobs.postgres.allowedHosts; cancel.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BAD_LINES, referenceLogits, writeMlpJsonl } from "../jobs/batch-data.js";
import { goodLines, mlpConfig, postBatch, waitForBatch } from "../jobs/batch-helpers.js";
import { startTestGateway, type TestGateway } from "./harness.js";

const RECORDS = 5000;
let gw: TestGateway;
let dataDir: string;
let inputName: string;

const waitDone = (id: string) => waitForBatch(gw.url, id);

const SECRET = `whsec_${randomBytes(24).toString("base64")}`;
/** Verified webhook payloads the receiver got. */
const hooks: Array<{ type: string; data: { id: string; status: string; counts: unknown } }> = [];
let receiver: Server;
let hookUrl: string;

beforeAll(async () => {
  const verifier = new Webhook(SECRET);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = {
        "webhook-id": String(req.headers["webhook-id"]),
        "webhook-timestamp": String(req.headers["webhook-timestamp"]),
        "webhook-signature": String(req.headers["webhook-signature"]),
      };
      hooks.push(verifier.verify(Buffer.concat(chunks).toString(), headers) as (typeof hooks)[0]);
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const root = mkdtempSync(join(tmpdir(), "infergate-batch-"));
  dataDir = join(root, "files");
  ({ input: inputName } = await referenceLogits([1]));
  gw = await startTestGateway(
    mlpConfig(`dir: ${join(root, "jobs")}
      dataDir: ${dataDir}
      batch: { chunkRecords: 1024 }
      webhooks: { secret: "${SECRET}", allowedHosts: ["127.0.0.1"] }
      schedules:
        - { name: nightly, cron: "0 2 * * *", timezone: Europe/Paris, model: mlp, input: { path: "up/bad.jsonl" }, output: { path: "nightly/{date}.jsonl" } }`),
  );
  mkdirSync(dataDir, { recursive: true });
  await writeMlpJsonl(join(dataDir, "in.jsonl"), RECORDS, inputName);
}, 30_000);

afterAll(async () => {
  await gw?.stop();
  receiver?.close();
});

describe("batches API", () => {
  it("scores a JSONL file in input order, matching onnxruntime, with bad records by line", async () => {
    const created = await postBatch(gw.url, {
      model: "mlp",
      input: { path: "in.jsonl" },
      output: { path: "out/scored.jsonl" },
    });
    expect(created.status).toBe(202);
    const done = await waitDone(created.body.id);
    expect(done.status).toBe("succeeded");
    expect(done.counts).toEqual({ total: RECORDS, done: RECORDS, failed: 3 });

    const lines = readFileSync(join(dataDir, "out/scored.jsonl"), "utf8").trim().split("\n");
    expect(lines).toHaveLength(RECORDS - 3);
    const good = goodLines(RECORDS);
    const { logits } = await referenceLogits(good);
    lines.forEach((text, i) => {
      const record = JSON.parse(text) as { id: string; outputs: Record<string, number[][]> };
      expect(record.id).toBe(`r${good[i]}`);
      const row = Object.values(record.outputs)[0]?.[0] ?? [];
      const want = logits[i] as Float32Array;
      expect(row).toHaveLength(want.length);
      for (let k = 0; k < want.length; k++) expect(row[k]).toBeCloseTo(want[k] as number, 4);
    });

    const errors = readFileSync(join(dataDir, done.errors.path), "utf8").trim().split("\n");
    const parsed = errors.map(
      (t) => JSON.parse(t) as { id: string; line: number; error: { code: string } },
    );
    expect(parsed.map((e) => e.line)).toEqual([...BAD_LINES.keys()]);
    expect(parsed.map((e) => e.id)).toEqual(["7", "bad-shape", "bad-name"]);
    expect(parsed.every((e) => e.error.code === "INVALID_REQUEST")).toBe(true);

    const download = await fetch(`${gw.url}/v1/files/out/scored.jsonl`);
    expect(download.status).toBe(200);
    expect((await download.text()).trim().split("\n")).toHaveLength(RECORDS - 3);
  }, 90_000);

  it("refuses paths outside the data dir and Postgres without allowed hosts", async () => {
    const outside = await postBatch(gw.url, {
      model: "mlp",
      input: { path: "../etc/passwd" },
      output: { path: "o.jsonl" },
    });
    expect(outside.status).toBe(400);
    const pg = await postBatch(gw.url, {
      model: "mlp",
      input: { postgres: { url: "postgres://db.internal/x", query: "select 1" } },
      output: { path: "o.jsonl" },
    });
    expect(pg.status).toBe(400);
    expect(JSON.stringify(pg.body)).toContain("jobs.postgres.allowedHosts");
    const upload = await fetch(`${gw.url}/v1/files?name=../x.jsonl`, {
      method: "POST",
      body: "{}",
    });
    expect(upload.status).toBe(400);
    const missing = await postBatch(gw.url, {
      model: "nope",
      input: { path: "in.jsonl" },
      output: { path: "o.jsonl" },
    });
    expect(missing.status).toBe(404);
  });

  it("uploads a file, runs a batch on it and fails it past maxErrors", async () => {
    const body = `{"inputs":{"${inputName}":[[1]]}}\n{"inputs":{"${inputName}":[[2]]}}\n`;
    const up = await fetch(`${gw.url}/v1/files?name=up/bad.jsonl`, { method: "POST", body });
    expect(up.status).toBe(201);
    const created = await postBatch(gw.url, {
      model: "mlp",
      input: { path: "up/bad.jsonl" },
      output: { path: "up/out.jsonl" },
      maxErrors: 1,
    });
    const done = await waitDone(created.body.id);
    expect(done.status).toBe("failed");
    expect(done.counts.failed).toBe(2);
    expect(done.error?.message).toContain("maxErrors");
  });

  it("lists schedules with their next run and runs one now, {date} expanded", async () => {
    const listed = (await (await fetch(`${gw.url}/v1/schedules`)).json()) as {
      data: Array<{ name: string; cron: string; timezone: string; nextRunAt: string }>;
    };
    expect(listed.data).toHaveLength(1);
    expect(listed.data[0]).toMatchObject({
      name: "nightly",
      cron: "0 2 * * *",
      timezone: "Europe/Paris",
    });
    const next = new Date(listed.data[0]?.nextRunAt ?? "");
    expect(next.getTime()).toBeGreaterThan(Date.now());
    // 02:00 in Paris is 00:00 or 01:00 UTC.
    expect([0, 1]).toContain(next.getUTCHours());
    const run = await fetch(`${gw.url}/v1/schedules/nightly/run`, { method: "POST" });
    expect(run.status).toBe(202);
    const batch = (await run.json()) as { id: string; output: { path: string } };
    expect(batch.output.path).toMatch(/^nightly\/\d{4}-\d{2}-\d{2}\.jsonl$/);
    const after = (await (await fetch(`${gw.url}/v1/schedules`)).json()) as {
      data: Array<{ lastBatchId?: string }>;
    };
    expect(after.data[0]?.lastBatchId).toBe(batch.id);
    expect((await fetch(`${gw.url}/v1/schedules/nope/run`, { method: "POST" })).status).toBe(404);
    await waitForBatch(gw.url, batch.id);
  });

  it("cancels a running batch (no output published) and sends signed completion webhooks", async () => {
    const created = await postBatch(gw.url, {
      model: "mlp",
      input: { path: "in.jsonl" },
      output: { path: "cancelled.jsonl" },
      webhook: { url: hookUrl },
    });
    expect(created.status).toBe(202);
    const cancel = await fetch(`${gw.url}/v1/batches/${created.body.id}/cancel`, {
      method: "POST",
    });
    expect(["cancelling", "cancelled"]).toContain(
      ((await cancel.json()) as { status: string }).status,
    );
    const done = await waitForBatch(gw.url, created.body.id);
    expect(done.status).toBe("cancelled");
    expect(existsSync(join(dataDir, "cancelled.jsonl"))).toBe(false);
    const again = await fetch(`${gw.url}/v1/batches/${created.body.id}/cancel`, { method: "POST" });
    expect(((await again.json()) as { status: string }).status).toBe("cancelled");

    const ok = await postBatch(gw.url, {
      model: "mlp",
      input: { path: "up/bad.jsonl" },
      output: { path: "hooked.jsonl" },
      webhook: { url: hookUrl },
    });
    await waitForBatch(gw.url, ok.body.id);
    const until = Date.now() + 10_000;
    while (hooks.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const byId = new Map(hooks.map((h) => [h.data.id, h]));
    expect(byId.get(created.body.id)?.type).toBe("batch.cancelled");
    expect(byId.get(ok.body.id)).toMatchObject({
      type: "batch.succeeded",
      data: { status: "succeeded", counts: { total: 2, done: 2, failed: 2 } },
    });
    const refused = await postBatch(gw.url, {
      model: "mlp",
      input: { path: "in.jsonl" },
      output: { path: "x.jsonl" },
      webhook: { url: "http://10.0.0.1/hook" },
    });
    expect(refused.status).toBe(400);
  });

  it("takes an upload past the body limit when it is streamed (chunked), and serves it back", async () => {
    const size = 9 * 1024 * 1024; // over the default 8 MiB server.bodyLimitBytes
    const piece = new Uint8Array(1024 * 1024).fill(0x61);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) return controller.close();
        controller.enqueue(piece);
        sent += piece.length;
      },
    });
    const up = await fetch(`${gw.url}/v1/files?name=big/blob.txt`, {
      method: "POST",
      body,
      duplex: "half",
    } as RequestInit);
    expect(up.status).toBe(201);
    expect(await up.json()).toEqual({ name: "big/blob.txt", bytes: size });
    const down = await fetch(`${gw.url}/v1/files/big/blob.txt`);
    expect((await down.arrayBuffer()).byteLength).toBe(size);
    expect((await fetch(`${gw.url}/v1/files/big/none.txt`)).status).toBe(404);
  });
});
