/**
 * Scenario: async jobs must not hurt live traffic (docs/async.md "Priority"). One gateway process
 * in front of one Triton emulator process (iris over gRPC, each call delayed BENCH_ASYNC_DELAY_MS
 * so the backend's concurrency matters), in one run:
 *
 * 1. idle: live `/v1/models/iris/predict` at a fixed rate (open loop), p50/p99;
 * 2. busy: 10,000 async jobs submitted, then the same live load while they drain on the same
 *    backend, p50/p99 (the run checks jobs were still draining when the live window ended);
 * 3. async throughput (submit of the first job to the last one succeeded) against the same 10,000
 *    requests sent synchronously from jobs.concurrency clients (closed loop).
 *
 * Env: BENCH_ASYNC_JOBS (10000), BENCH_ASYNC_RATE (live requests/s, 100), BENCH_ASYNC_SECONDS
 * (live window, 5), BENCH_ASYNC_DELAY_MS (backend delay, 5), BENCH_ASYNC_CONCURRENCY
 * (jobs.concurrency, 8). Writes bench/results/async.md.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { it } from "vitest";
import { deferCleanup } from "./cleanup.js";
import { startEmulatorProcess } from "./emulators-process.js";
import { cpuMs, eventLoopDelay, startGateway } from "./gateway.js";
import { closedLoop, type LoadResult, openLoop } from "./load.js";
import { envNumber, num, rate, table, writeResult } from "./report.js";

const JOBS = envNumber("BENCH_ASYNC_JOBS", 10_000);
const RATE = envNumber("BENCH_ASYNC_RATE", 100);
const SECONDS = envNumber("BENCH_ASYNC_SECONDS", 5);
const DELAY_MS = envNumber("BENCH_ASYNC_DELAY_MS", 5);
const CONCURRENCY = envNumber("BENCH_ASYNC_CONCURRENCY", 8);
const BODY = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });

async function post(pool: Pool, path: string, expected: number): Promise<string> {
  const res = await pool.request({
    method: "POST",
    path,
    headers: { "content-type": "application/json" },
    body: BODY,
  });
  const text = await res.body.text();
  if (res.statusCode !== expected) throw new Error(`${path}: ${res.statusCode} ${text}`);
  return text;
}

/** Jobs per status from the gateway's `infergate_jobs` gauge. */
async function jobCounts(pool: Pool): Promise<Record<string, number>> {
  const res = await pool.request({ method: "GET", path: "/metrics" });
  const text = await res.body.text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^infergate_jobs\{kind="async",status="(\w+)"\} (\d+)/gm)) {
    out[m[1] ?? ""] = Number(m[2]);
  }
  return out;
}

const row = (name: string, r: LoadResult, idle: LoadResult) => [
  name,
  rate(r),
  num(r.p50Ms),
  num(r.p99Ms),
  num(r.p99Ms / idle.p99Ms),
];

it("live latency while async jobs drain, and async vs sync throughput", async () => {
  const triton = await startEmulatorProcess({ kind: "triton", rest: false });
  deferCleanup(() => triton.stop());
  await triton.setMode({ kind: "ok", delayMs: DELAY_MS });
  const gateway = await startGateway(`server: { host: 127.0.0.1, port: 0 }
backends:
  triton: { type: triton, grpc: "${triton.grpcAddress}" }
defaults: { timeoutMs: 30000 }
models:
  iris:
    versions:
      "1": { backend: triton, model: iris }
jobs:
  dir: ${mkdtempSync(join(tmpdir(), "infergate-bench-jobs-"))}
  concurrency: ${CONCURRENCY}
`);
  deferCleanup(() => gateway.stop());
  const pool = new Pool(gateway.url, { connections: 64 });
  deferCleanup(() => pool.close());
  const live = () => post(pool, "/v1/models/iris/predict", 200);

  await closedLoop(live, { concurrency: 8, seconds: 1, warmupSeconds: 0.5 });
  await eventLoopDelay(gateway.url);
  let cpu = cpuMs(gateway.pid);
  const idle = await openLoop(live, { rate: RATE, seconds: SECONDS });
  const idleLoop = await eventLoopDelay(gateway.url);
  const idleCpu = (cpuMs(gateway.pid) - cpu) / (SECONDS * 1000);

  const submitStarted = performance.now();
  let submitted = 0;
  const submitter = async () => {
    while (submitted < JOBS) {
      submitted++;
      await post(pool, "/v1/models/iris/async/predict", 202);
    }
  };
  await Promise.all(Array.from({ length: 16 }, submitter));
  const submitSeconds = (performance.now() - submitStarted) / 1000;
  await eventLoopDelay(gateway.url);
  cpu = cpuMs(gateway.pid);
  const busy = await openLoop(live, { rate: RATE, seconds: SECONDS });
  const busyLoop = await eventLoopDelay(gateway.url);
  const busyCpu = (cpuMs(gateway.pid) - cpu) / (SECONDS * 1000);
  const afterBusy = await jobCounts(pool);
  const stillDraining = (afterBusy.queued ?? 0) + (afterBusy.running ?? 0);
  while (((await jobCounts(pool)).succeeded ?? 0) < JOBS) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const asyncSeconds = (performance.now() - submitStarted) / 1000;
  const final = await jobCounts(pool);

  const sync = await closedLoop(live, {
    concurrency: CONCURRENCY,
    seconds: Math.max(1, (JOBS / (JOBS / asyncSeconds)) * 0.5),
    warmupSeconds: 0,
  });
  const asyncRate = JOBS / asyncSeconds;

  writeResult("async", [
    `Live /v1 predict at ${RATE}/s for ${SECONDS} s, backend delay ${DELAY_MS} ms, jobs.concurrency ${CONCURRENCY}.`,
    "",
    ...table(
      ["live load", "req/s", "p50 ms", "p99 ms", "p99 / idle"],
      [row("idle", idle, idle), row(`while ${JOBS} async jobs drain`, busy, idle)],
    ),
    "",
    `Gateway event-loop delay p99 / max: idle ${num(idleLoop.p99Ms)} / ${num(idleLoop.maxMs)} ms, busy ${num(busyLoop.p99Ms)} / ${num(busyLoop.maxMs)} ms; gateway CPU (cores): idle ${num(idleCpu)}, busy ${num(busyCpu)}.`,
    `Jobs still queued or running when the busy window ended: ${stillDraining} (must be > 0 for the row to mean anything).`,
    `Submitting ${JOBS} jobs took ${num(submitSeconds)} s (${num(JOBS / submitSeconds, 0)}/s); final counts ${JSON.stringify(final)}.`,
    "",
    ...table(
      ["path", "requests/s"],
      [
        [`async (submit -> all succeeded, live load included)`, num(asyncRate, 0)],
        [`sync, closed loop at concurrency ${CONCURRENCY}`, rate(sync)],
      ],
    ),
    "",
    `async / sync throughput: ${num(asyncRate / sync.perSecond)}; busy / idle live p99: ${num(busy.p99Ms / idle.p99Ms)}.`,
  ]);
});
