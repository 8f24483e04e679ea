/**
 * Durability of the embedded store: 1,000 jobs queued behind a slow backend, the gateway process
 * killed with SIGKILL mid-run and started again on the same jobs.dir: every job ends succeeded,
 * with its own answer. Jobs that had finished before the kill never run again; only the ones in
 * flight at the kill (at most jobs.concurrency) may reach the backend a second time, and then
 * under the same `x-request-id` (the job's id), so a backend can recognise the repeat.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, tempJobsDir, until } from "../jobs/helpers.js";
import { type GatewayProcess, startGatewayProcess } from "../jobs/process.js";
import { type SlowBackend, slowBackendConfig, startSlowBackend } from "../jobs/slow-backend.js";
import { writeConfig } from "./harness.js";

const JOBS = 1000;
const CONCURRENCY = 16;
let backend: SlowBackend;
let gateway: GatewayProcess | undefined;

beforeAll(async () => {
  backend = await startSlowBackend(10);
});
afterAll(async () => {
  await gateway?.kill();
  await backend?.close();
});

/** Jobs per status from the gateway's metrics. */
async function counts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^infergate_jobs\{kind="async",status="(\w+)"\} (\d+)/gm)) {
    out[m[1] ?? ""] = Number(m[2]);
  }
  return out;
}

describe("embedded job store durability", () => {
  it("finishes all 1,000 jobs after a SIGKILL and restart, none of the finished ones twice", async () => {
    const dir = tempJobsDir();
    const configPath = writeConfig(`server: { host: 127.0.0.1, port: 0 }
${slowBackendConfig(backend.url)}
defaults: { timeoutMs: 10000 }
jobs: { dir: ${dir}, concurrency: ${CONCURRENCY} }
`);
    gateway = await startGatewayProcess(configPath);
    backend.hold();
    const ids = new Map<string, number>();
    for (let start = 0; start < JOBS; start += 50) {
      const batch = Array.from({ length: Math.min(50, JOBS - start) }, (_, k) => start + k);
      const answers = await Promise.all(
        batch.map((i) =>
          call(`${gateway?.url}/v1/models/m/async/predict`, { body: { inputs: [[i, 1]] } }),
        ),
      );
      answers.forEach((a, k) => {
        expect(a.status).toBe(202);
        ids.set(a.body.id, batch[k] ?? -1);
      });
    }
    backend.open();
    await until(async () => ((await counts(gateway?.url ?? "")).succeeded ?? 0) >= 200, 30_000);
    await gateway.kill();
    const doneBeforeKill = new Map(backend.calls);
    gateway = await startGatewayProcess(configPath);
    await until(async () => ((await counts(gateway?.url ?? "")).succeeded ?? 0) === JOBS, 60_000);
    const final = await counts(gateway.url);
    expect(final).toMatchObject({ succeeded: JOBS, queued: 0, running: 0, failed: 0 });
    for (const [id, i] of [...ids].slice(0, 50)) {
      const job = await call(`${gateway.url}/v1/async/${id}`);
      expect(job.body.result?.outputs).toEqual({ y: [[i * 2, 2]] });
    }
    const twice = [...backend.calls].filter(([, n]) => n > 1).map(([i]) => i);
    for (const i of ids.values()) expect(backend.calls.get(i) ?? 0).toBeGreaterThanOrEqual(1);
    expect(twice.length).toBeLessThanOrEqual(CONCURRENCY);
    // Every job run twice was in flight at the kill: called before it, unfinished.
    for (const i of twice) expect(doneBeforeKill.get(i)).toBe(1);
    // Every call of a job carried the job's id: a backend that dedupes on it sees one job once.
    for (const [id, i] of ids) {
      const seen = backend.requestIds.get(i) ?? [];
      expect(seen.length).toBeGreaterThanOrEqual(1);
      expect(new Set(seen)).toEqual(new Set([id]));
    }
    console.log(
      `durability: ${twice.length} of ${JOBS} jobs were in flight at the kill and ran again`,
    );
  }, 120_000);
});
