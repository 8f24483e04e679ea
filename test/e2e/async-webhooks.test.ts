/**
 * Webhooks end to end: a receiver in the test verifies every delivery with the `standardwebhooks`
 * verifier; failing twice means delivered on the third attempt with the same webhook-id; 410 stops
 * retries; hosts outside jobs.webhooks.allowedHosts are refused at submit.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, tempJobsDir, until, waitForJob } from "../jobs/helpers.js";
import { type SlowBackend, slowBackendConfig, startSlowBackend } from "../jobs/slow-backend.js";
import { startTestGateway, type TestGateway } from "./harness.js";

const SECRET = `whsec_${randomBytes(24).toString("base64")}`;

/** One delivery as the receiver got it. */
interface Received {
  path: string;
  id: string;
  timestamp: string;
  /** The verified payload; undefined when verification failed. */
  payload: { type: string; timestamp: string; data: { id: string; status: string } } | undefined;
}

let backend: SlowBackend;
let gw: TestGateway;
let noHooks: TestGateway;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
/** Per path: how many more deliveries to fail with 500 before answering `finalStatus`. */
const failures = new Map<string, number>();

beforeAll(async () => {
  const verifier = new Webhook(SECRET);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString();
      const headers = {
        "webhook-id": String(req.headers["webhook-id"]),
        "webhook-timestamp": String(req.headers["webhook-timestamp"]),
        "webhook-signature": String(req.headers["webhook-signature"]),
      };
      let payload: Received["payload"];
      try {
        payload = verifier.verify(text, headers) as Received["payload"];
      } catch {
        payload = undefined;
      }
      const path = req.url ?? "";
      received.push({
        path,
        id: headers["webhook-id"],
        timestamp: headers["webhook-timestamp"],
        payload,
      });
      if (path === "/redirect") {
        res.writeHead(302, { location: `${receiverUrl}/landing` }).end();
        return;
      }
      if (path.startsWith("/gone")) {
        res.writeHead(410).end();
        return;
      }
      const left = failures.get(path) ?? 0;
      failures.set(path, left - 1);
      res.writeHead(left > 0 ? 500 : 204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  backend = await startSlowBackend();
  const base = `server: { host: 127.0.0.1, port: 0 }\n${slowBackendConfig(backend.url)}`;
  gw = await startTestGateway(`${base}
jobs:
  dir: ${tempJobsDir()}
  webhooks:
    secret: "${SECRET}"
    allowedHosts: ["127.0.0.1", "*.example.com"]
    retryBaseMs: 50
    maxAttempts: 4
`);
  noHooks = await startTestGateway(`${base}\njobs: { dir: ${tempJobsDir()} }\n`);
});
afterAll(async () => {
  await gw?.stop();
  await noHooks?.stop();
  await backend?.close();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
});

const submit = (base: string, url: string) =>
  call(`${base}/v1/models/m/async/predict`, { body: { inputs: [[1, 1]], webhook: { url } } });
const at = (path: string) => received.filter((r) => r.path === path);

describe("async webhooks", () => {
  it("signs deliveries and retries a failing receiver with the same webhook-id until it answers", async () => {
    const path = "/flaky";
    failures.set(path, 2);
    const res = await submit(gw.url, `${receiverUrl}${path}`);
    expect(res.status).toBe(202);
    await until(() => at(path).length >= 3);
    const deliveries = at(path);
    const first = deliveries[0];
    expect(first?.payload?.type).toBe("async.succeeded");
    expect(first?.payload?.data.id).toBe(res.body.id);
    expect(first?.payload?.data.status).toBe("succeeded");
    for (const d of deliveries) {
      expect(d.payload).toBeDefined();
      expect(d.id).toBe(first?.id);
      expect(d.id).toMatch(/^msg_/);
      expect(Number(d.timestamp)).toBeGreaterThan(Date.now() / 1000 - 60);
    }
    // Delivered on the third attempt: no fourth.
    await new Promise((r) => setTimeout(r, 600));
    expect(at(path)).toHaveLength(3);
    const job = await waitForJob(gw.url, res.body.id);
    expect(job.status).toBe("succeeded");
  });

  it("stops retrying when the receiver answers 410", async () => {
    const path = "/gone/1";
    await submit(gw.url, `${receiverUrl}${path}`);
    await until(() => at(path).length >= 1);
    await new Promise((r) => setTimeout(r, 800));
    expect(at(path)).toHaveLength(1);
  });

  it("does not follow redirects: a 3xx is a failed attempt", async () => {
    await submit(gw.url, `${receiverUrl}/redirect`);
    await until(() => at("/redirect").length >= 2);
    expect(at("/landing")).toHaveLength(0);
  });

  it("gives up after maxAttempts deliveries", async () => {
    const path = "/always-down";
    failures.set(path, 100);
    await submit(gw.url, `${receiverUrl}${path}`);
    // 50 + 200 + 800 ms of backoff (±20%) between the four attempts.
    await until(() => at(path).length >= 4, 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(at(path)).toHaveLength(4);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/infergate_webhook_deliveries_total\{outcome="failed"\} 2\b/);
    expect(metrics).toMatch(/infergate_webhook_deliveries_total\{outcome="gone"\} 1/);
  });

  it("sends async.cancelled for a cancelled job", async () => {
    backend.hold();
    const path = "/cancelled";
    try {
      const res = await submit(gw.url, `${receiverUrl}${path}`);
      await waitForJob(gw.url, res.body.id, (j) => j.status === "running");
      await call(`${gw.url}/v1/async/${res.body.id}/cancel`, { method: "POST" });
    } finally {
      backend.open();
    }
    await until(() => at(path).length >= 1);
    expect(at(path)[0]?.payload?.type).toBe("async.cancelled");
  });

  it("refuses hosts that are not allowed, and webhooks where none are configured", async () => {
    for (const url of [
      "http://localhost:9/x",
      "http://10.0.0.1/x",
      "http://example.com/x",
      "ftp://127.0.0.1/x",
      "http://user:pw@127.0.0.1/x",
      "not a url",
    ]) {
      const res = await submit(gw.url, url);
      expect(res.status, url).toBe(400);
      expect((res.body as unknown as { error: { code: string } }).error.code).toBe(
        "INVALID_REQUEST",
      );
    }
    const off = await submit(noHooks.url, `${receiverUrl}/x`);
    expect(off.status).toBe(400);
  });
});
