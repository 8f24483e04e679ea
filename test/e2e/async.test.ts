/**
 * The async API end to end on the embedded store, over real HTTP: lifecycle, failure, cancel of a
 * queued and of a running job, Idempotency-Key, result TTL, listing, `Prefer: respond-async`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type JobView, tempJobsDir, until, waitForJob } from "../jobs/helpers.js";
import { type SlowBackend, slowBackendConfig, startSlowBackend } from "../jobs/slow-backend.js";
import { startTestGateway, type TestGateway } from "./harness.js";

let backend: SlowBackend;
let gw: TestGateway;
let short: TestGateway;
let tight: TestGateway;

const config = (url: string, jobs: string) => `server: { host: 127.0.0.1, port: 0 }
${slowBackendConfig(url)}
jobs:
${jobs}`;

beforeAll(async () => {
  backend = await startSlowBackend();
  gw = await startTestGateway(config(backend.url, `  dir: ${tempJobsDir()}\n  concurrency: 1`));
  short = await startTestGateway(
    config(backend.url, `  dir: ${tempJobsDir()}\n  resultTtlSeconds: 1`),
  );
  tight = await startTestGateway(
    config(backend.url, `  dir: ${tempJobsDir()}\n  concurrency: 1\n  maxQueued: 2`),
  );
});
afterAll(async () => {
  await gw?.stop();
  await short?.stop();
  await tight?.stop();
  await backend?.close();
});

const body = (id: number) => ({ inputs: [[id, 1]] });
const submit = (base: string, b: unknown, headers: Record<string, string> = {}) =>
  call(`${base}/v1/models/m/async/predict`, { body: b, headers });

describe("async jobs", () => {
  it("runs a job from queued to succeeded with the /v1/predict answer as its result", async () => {
    const res = await submit(gw.url, body(1));
    expect(res.status).toBe(202);
    expect(res.headers.get("location")).toBe(`/v1/async/${res.body.id}`);
    expect(res.body.statusUrl).toBe(`/v1/async/${res.body.id}`);
    expect(["queued", "running", "succeeded"]).toContain(res.body.status);
    expect(res.body.model).toBe("m");
    const job = await waitForJob(gw.url, res.body.id);
    expect(job.status).toBe("succeeded");
    const live = await call<unknown>(`${gw.url}/v1/models/m/predict`, { body: body(1) });
    expect(job.result).toEqual(live.body);
    expect(job.result?.outputs).toEqual({ y: [[2, 2]] });
    expect(job.version).toBe("1");
    expect(Date.parse(job.startedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(job.createdAt));
    expect(Date.parse(job.finishedAt ?? "")).toBeGreaterThanOrEqual(
      Date.parse(job.startedAt ?? ""),
    );
  });

  it("fails a job whose input the model refuses, with the unified error object", async () => {
    const res = await submit(gw.url, { inputs: [[1, 2, 3]] });
    expect(res.status).toBe(202);
    const job = await waitForJob(gw.url, res.body.id);
    expect(job.status).toBe("failed");
    expect(job.error?.code).toBe("INVALID_REQUEST");
    expect(job.result).toBeUndefined();
  });

  it("refuses at submit what cannot run: unknown model or version, malformed body", async () => {
    const unknown = await call(`${gw.url}/v1/async/predict`, {
      body: { model: "nope", inputs: [[1, 1]] },
    });
    expect(unknown.status).toBe(404);
    expect((unknown.body as unknown as { error: { code: string } }).error.code).toBe(
      "MODEL_NOT_FOUND",
    );
    const version = await call(`${gw.url}/v1/models/m/versions/9/async/predict`, { body: body(1) });
    expect(version.status).toBe(404);
    const bad = await call(`${gw.url}/v1/async/predict`, { body: "{not json" });
    expect(bad.status).toBe(400);
    const missing = await call(`${gw.url}/v1/async/job_nope`);
    expect(missing.status).toBe(404);
    expect((missing.body as unknown as { error: { code: string } }).error.code).toBe(
      "JOB_NOT_FOUND",
    );
  });

  it("cancels a queued and a running job; cancel is idempotent and leaves finished jobs alone", async () => {
    backend.hold();
    try {
      const running = await submit(gw.url, body(10));
      await waitForJob(gw.url, running.body.id, (j) => j.status === "running");
      await until(() => backend.inFlight() > 0);
      const queued = await submit(gw.url, body(11));
      expect(queued.body.status).toBe("queued");
      const c1 = await call(`${gw.url}/v1/async/${queued.body.id}/cancel`, { method: "POST" });
      expect(c1.status).toBe(200);
      expect(c1.body.status).toBe("cancelled");
      const c2 = await call(`${gw.url}/v1/async/${running.body.id}/cancel`, { method: "POST" });
      expect(c2.body.status).toBe("cancelled");
      const again = await call(`${gw.url}/v1/async/${running.body.id}/cancel`, { method: "POST" });
      expect(again.body.status).toBe("cancelled");
      expect(again.body.finishedAt).toBe(c2.body.finishedAt);
    } finally {
      backend.open();
    }
    const done = await submit(gw.url, body(12));
    const finished = await waitForJob(gw.url, done.body.id);
    const c3 = await call(`${gw.url}/v1/async/${done.body.id}/cancel`, { method: "POST" });
    expect(c3.body.status).toBe("succeeded");
    expect(c3.body.result).toEqual(finished.result);
    // The queued job never reached the backend.
    expect(backend.calls.get(11)).toBeUndefined();
  });

  it("returns the first job for a repeated Idempotency-Key", async () => {
    const headers = { "idempotency-key": `k-${Date.now()}` };
    const first = await submit(gw.url, body(20), headers);
    const second = await submit(gw.url, body(21), headers);
    expect(second.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    const other = await submit(gw.url, body(20), { "idempotency-key": `other-${Date.now()}` });
    expect(other.body.id).not.toBe(first.body.id);
    const job = await waitForJob(gw.url, first.body.id);
    expect(job.result?.outputs).toEqual({ y: [[40, 2]] });
  });

  it("forgets a finished job after the result TTL", async () => {
    const res = await submit(short.url, body(30));
    await waitForJob(short.url, res.body.id);
    await until(
      async () => (await call(`${short.url}/v1/async/${res.body.id}`)).status === 404,
      5000,
    );
    const gone = await call(`${short.url}/v1/async/${res.body.id}`);
    expect((gone.body as unknown as { error: { code: string } }).error.code).toBe("JOB_NOT_FOUND");
  });

  it("lists jobs newest first, by pages and by status", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await submit(short.url, body(40 + i))).body.id);
    for (const id of ids) await waitForJob(short.url, id);
    const seen: string[] = [];
    let next: string | null = null;
    for (let page = 0; page < 10; page++) {
      const q: string = next === null ? "" : `&after=${next}`;
      const res = await call<{ data: JobView[]; next: string | null }>(
        `${short.url}/v1/async?limit=2&status=succeeded${q}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((j) => j.id));
      next = res.body.next;
      if (next === null) break;
    }
    // Newest first; the TTL test's job may already be gone.
    expect(seen.slice(0, 5)).toEqual([...ids].reverse());
    const none = await call<{ data: JobView[] }>(`${short.url}/v1/async?status=cancelled`);
    expect(none.body.data).toEqual([]);
    expect((await call(`${short.url}/v1/async?status=nope`)).status).toBe(400);
    expect((await call(`${short.url}/v1/async?limit=0`)).status).toBe(400);
    expect((await call(`${short.url}/v1/async?after=garbage`)).status).toBe(400);
  });

  it("turns /v1/predict with Prefer: respond-async into a job", async () => {
    const res = await call(`${gw.url}/v1/predict`, {
      body: { model: "m", inputs: [[50, 1]] },
      headers: { prefer: "respond-async, wait=5" },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get("preference-applied")).toBe("respond-async");
    const job = await waitForJob(gw.url, res.body.id);
    expect(job.result?.outputs).toEqual({ y: [[100, 2]] });
    const live = await call<{ outputs: unknown }>(`${gw.url}/v1/predict`, {
      body: { model: "m", inputs: [[50, 1]] },
    });
    expect(live.status).toBe(200);
    expect(live.body.outputs).toEqual({ y: [[100, 2]] });
  });

  it("answers 503 OVERLOADED with Retry-After once jobs.maxQueued jobs are queued", async () => {
    backend.hold();
    try {
      const running = await submit(tight.url, body(60));
      await waitForJob(tight.url, running.body.id, (j) => j.status === "running");
      expect((await submit(tight.url, body(61))).status).toBe(202);
      expect((await submit(tight.url, body(62))).status).toBe(202);
      const refused = await submit(tight.url, body(63));
      expect(refused.status).toBe(503);
      expect((refused.body as unknown as { error: { code: string } }).error.code).toBe(
        "OVERLOADED",
      );
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      backend.open();
    }
  });

  it("counts jobs by status and outcome, and their run time, on /metrics", async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
    expect(
      value(/^infergate_jobs_total\{kind="async",outcome="succeeded"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(4);
    expect(
      value(/^infergate_jobs_total\{kind="async",outcome="failed"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(/^infergate_jobs_total\{kind="async",outcome="cancelled"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(2);
    expect(
      value(/^infergate_jobs\{kind="async",status="cancelled"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(2);
    expect(
      value(/^infergate_job_duration_seconds_count\{kind="async",outcome="succeeded"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(4);
  });
});
