/**
 * Async jobs across two gateway processes on one real redis-server: submit on A, poll and cancel
 * on B; A killed with SIGKILL while it runs jobs, and B finishes them (BullMQ's stalled-job
 * takeover after jobs.lockDurationMs).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, waitForJob } from "../jobs/helpers.js";
import { type GatewayProcess, startGatewayProcess } from "../jobs/process.js";
import { type SlowBackend, slowBackendConfig, startSlowBackend } from "../jobs/slow-backend.js";
import { skipWithoutRedis, startRedis, type TestRedis } from "../support/redis.js";
import { startTestGateway, writeConfig } from "./harness.js";

const skip = skipWithoutRedis();
let redis: TestRedis | undefined;
let backend: SlowBackend;
let a: GatewayProcess | undefined;
let b: GatewayProcess | undefined;

const submit = (gw: GatewayProcess | undefined, i: number) =>
  call(`${gw?.url}/v1/models/m/async/predict`, { body: { inputs: [[i, 1]] } });

/** Ids of jobs that process `gw` logged as started. */
const startedOn = (gw: GatewayProcess) =>
  new Set(
    gw.logs
      .filter((l) => l.msg === "async job" && l.status === "running")
      .map((l) => String(l.jobId)),
  );

describe.skipIf(skip)("async jobs on Redis across two gateways", () => {
  beforeAll(async () => {
    redis = await startRedis();
    backend = await startSlowBackend();
    const configPath = writeConfig(`server: { host: 127.0.0.1, port: 0 }
${slowBackendConfig(backend.url)}
defaults: { timeoutMs: 20000 }
jobs:
  concurrency: 2
  lockDurationMs: 1000
  redis: { url: "${redis.url}" }
`);
    [a, b] = await Promise.all([startGatewayProcess(configPath), startGatewayProcess(configPath)]);
  }, 60_000);
  afterAll(async () => {
    await a?.kill();
    await b?.stop();
    await backend?.close();
    await redis?.stop();
  });

  it("runs a job submitted on A and reports it on B", async () => {
    const res = await submit(a, 7);
    expect(res.status).toBe(202);
    const job = await waitForJob(b?.url ?? "", res.body.id);
    expect(job.status).toBe("succeeded");
    expect(job.result?.outputs).toEqual({ y: [[14, 2]] });
    const listed = await call<{ data: Array<{ id: string }> }>(`${b?.url}/v1/async?limit=5`);
    expect(listed.body.data.map((j) => j.id)).toContain(res.body.id);
  });

  it("cancels on B a job queued on A and one running on A or B", async () => {
    backend.hold();
    try {
      const running = [];
      for (let i = 0; i < 4; i++) running.push((await submit(a, 100 + i)).body.id);
      for (const id of running) await waitForJob(b?.url ?? "", id, (j) => j.status === "running");
      const queued = (await submit(a, 200)).body.id;
      expect((await call(`${b?.url}/v1/async/${queued}`)).body.status).toBe("queued");
      const c1 = await call(`${b?.url}/v1/async/${queued}/cancel`, { method: "POST" });
      expect(c1.body.status).toBe("cancelled");
      const c2 = await call(`${b?.url}/v1/async/${running[0]}/cancel`, { method: "POST" });
      expect(c2.body.status).toBe("cancelled");
      backend.open();
      for (const id of running.slice(1)) await waitForJob(a?.url ?? "", id);
      expect((await call(`${a?.url}/v1/async/${running[0]}`)).body.status).toBe("cancelled");
      expect((await call(`${a?.url}/v1/async/${queued}`)).body.status).toBe("cancelled");
      expect(backend.calls.get(200)).toBeUndefined();
    } finally {
      backend.open();
    }
  });

  it("finishes on B the jobs A was running when A was killed", async () => {
    if (a === undefined || b === undefined) throw new Error("gateways did not start");
    backend.hold();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await submit(a, 300 + i)).body.id);
    const gwA = a;
    await new Promise<void>((resolve, reject) => {
      const end = Date.now() + 15_000;
      const check = () => {
        if (ids.filter((id) => startedOn(gwA).has(id)).length >= 2) resolve();
        else if (Date.now() > end) reject(new Error("A started no jobs"));
        else setTimeout(check, 20);
      };
      check();
    });
    const onA = ids.filter((id) => startedOn(gwA).has(id));
    await a.kill();
    backend.open();
    for (const id of ids) {
      const job = await waitForJob(b.url, id, undefined, 30_000);
      expect(job.status, id).toBe("succeeded");
    }
    const onB = startedOn(b);
    for (const id of onA) expect(onB.has(id), `job ${id} taken over by B`).toBe(true);
  }, 60_000);

  it("uses the top-level redis when jobs.redis is absent: a second gateway answers for the first", async () => {
    const config = `server: { host: 127.0.0.1, port: 0 }
redis: { url: "${redis?.url}", keyPrefix: "shared:" }
${slowBackendConfig(backend.url)}
`;
    const [c, d] = await Promise.all([startTestGateway(config), startTestGateway(config)]);
    try {
      const res = await call(`${c.url}/v1/models/m/async/predict`, { body: { inputs: [[9, 1]] } });
      expect(res.status).toBe(202);
      const job = await waitForJob(d.url, res.body.id);
      expect(job.result?.outputs).toEqual({ y: [[18, 2]] });
    } finally {
      await Promise.all([c.stop(), d.stop()]);
    }
  });
});
