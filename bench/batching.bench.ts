/**
 * Scenario (b), batching: the 256→1024→10 MLP (`models/mlp/1`), one row per request through the
 * gateway's /v1 REST front, closed loop at concurrency 1, 16 and 64, with and without
 * `batching: { maxBatchSize: 32, maxDelayMs: 2 }`, for the MLP in the gateway process (onnx
 * backend) and behind the Triton emulator over gRPC. Throughput, p50/p99, the mean batch size the
 * gateway sent (its infergate_batch_size histogram), and the batched/unbatched ratios. The
 * emulator and load generator share this process; the gateway runs in its own. Also records the
 * gateway's RSS (scenario d).
 *
 * Env: BENCH_CONCURRENCIES (default "1,16,64"), BENCH_BATCHING_SECONDS (default 3 per cell and
 * round), BENCH_BATCHING_ROUNDS (default 2, interleaved), BENCH_CPU_PROF=1.
 */
import { it } from "vitest";
import { MODELS_DIR, ModelRunner } from "../test/emulators/runner.js";
import { startTritonEmulator } from "../test/emulators/triton/index.js";
import { deferCleanup } from "./cleanup.js";
import { type BenchClient, httpPost } from "./clients.js";
import { cpuMs, RssSampler, startGateway } from "./gateway.js";
import { closedLoop, combine, type LoadResult } from "./load.js";
import { recordMemory } from "./memory.js";
import { batchReading } from "./metrics.js";
import { cpuProfDir, summarizeProfiles } from "./profile.js";
import { envNumber, envNumbers, num, rate, table, writeResult } from "./report.js";

const CONCURRENCIES = envNumbers("BENCH_CONCURRENCIES", [1, 16, 64]);
const SECONDS = envNumber("BENCH_BATCHING_SECONDS", 3);
const ROUNDS = envNumber("BENCH_BATCHING_ROUNDS", 2);
const BATCHING = "{ maxBatchSize: 32, maxDelayMs: 2 }";

/** A fixed 256-float row (mulberry32, seed 1), so every run sends the same bytes. */
function mlpRow(): number[] {
  let a = 1;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: 256 }, () => Math.round((next() * 2 - 1) * 1000) / 1000);
}

interface Subject {
  name: string;
  backend: "local" | "triton";
}

it("batching: throughput and p99 with and without, in process and behind Triton", {
  timeout: 15 * 60_000,
}, async () => {
  const runner = await ModelRunner.load(MODELS_DIR);
  const triton = await startTritonEmulator({ runner, rest: false });
  deferCleanup(() => triton.close());
  const profDir = cpuProfDir();
  const gateway = await startGateway(
    `server: { host: 127.0.0.1, port: 0 }
backends:
  local: { type: onnx, modelDir: "${MODELS_DIR}" }
  triton: { type: triton, grpc: "${triton.grpcAddress}", protocol: grpc }
defaults: { timeoutMs: 10000 }
models:
  local_plain: { versions: { "1": { backend: local, model: mlp } } }
  local_batched: { versions: { "1": { backend: local, model: mlp } }, batching: ${BATCHING} }
  triton_plain: { versions: { "1": { backend: triton, model: mlp } } }
  triton_batched: { versions: { "1": { backend: triton, model: mlp } }, batching: ${BATCHING} }
`,
    profDir === undefined ? {} : { cpuProfDir: profDir },
  );
  deferCleanup(() => gateway.stop());
  const memory = [{ phase: "idle, after start", rssMb: gateway.rssMb() }];

  const body = JSON.stringify({ inputs: [mlpRow()] });
  const clients = new Map<string, BenchClient>();
  const clientFor = (model: string, concurrency: number): BenchClient => {
    const key = `${model} ${concurrency}`;
    let client = clients.get(key);
    if (client === undefined) {
      client = httpPost(gateway.url, `/v1/models/${model}/predict`, body, {
        connections: concurrency,
      });
      clients.set(key, client);
      deferCleanup(() => client?.close());
    }
    return client;
  };
  const subjects: Subject[] = [
    { name: "onnx in the gateway process", backend: "local" },
    { name: "Triton emulator, gRPC", backend: "triton" },
  ];

  const runs = new Map<string, LoadResult[]>();
  const batches = new Map<string, { sum: number; count: number }>();
  const cpu = new Map<string, number>();
  let peakMb = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of subjects) {
      for (const c of CONCURRENCIES) {
        for (const batched of [false, true]) {
          const model = `${s.backend}_${batched ? "batched" : "plain"}`;
          const key = `${model} ${c}`;
          const client = clientFor(model, c);
          const before = await batchReading(gateway.url, s.backend);
          const cpuBefore = cpuMs(gateway.pid);
          const sampler = new RssSampler(gateway.pid);
          const result = await closedLoop(() => client.send(), {
            concurrency: c,
            seconds: SECONDS,
            warmupSeconds: round === 0 ? 1 : 0.3,
          });
          peakMb = Math.max(peakMb, sampler.stop().peakMb);
          cpu.set(key, (cpu.get(key) ?? 0) + cpuMs(gateway.pid) - cpuBefore);
          const after = await batchReading(gateway.url, s.backend);
          const seen = batches.get(key) ?? { sum: 0, count: 0 };
          batches.set(key, {
            sum: seen.sum + after.sum - before.sum,
            count: seen.count + after.count - before.count,
          });
          runs.set(key, [...(runs.get(key) ?? []), result]);
          triton.calls.length = 0; // the emulator's call record would grow for the whole run
        }
      }
    }
  }
  memory.push({ phase: "peak during the batching load", rssMb: peakMb });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  memory.push({ phase: "2 s after the load", rssMb: gateway.rssMb() });
  if (profDir === undefined)
    recordMemory("batching", "MLP → onnx in process + Triton emulator gRPC", memory);

  const rows: string[][] = [];
  const verdicts: string[] = [];
  for (const s of subjects) {
    for (const c of CONCURRENCIES) {
      const get = (batched: boolean) => {
        const key = `${s.backend}_${batched ? "batched" : "plain"} ${c}`;
        const list = runs.get(key) ?? [];
        return { key, result: combine(list) };
      };
      const plain = get(false);
      const batched = get(true);
      const batch = batches.get(batched.key) ?? { sum: 0, count: 0 };
      const ratio = batched.result.perSecond / plain.result.perSecond;
      const p99Ratio = batched.result.p99Ms / plain.result.p99Ms;
      const cpuPerReq = (key: string, r: LoadResult) =>
        num((1000 * (cpu.get(key) ?? Number.NaN)) / (r.requests + r.errors), 0);
      rows.push([
        s.name,
        String(c),
        rate(plain.result),
        `${num(plain.result.p50Ms)} / ${num(plain.result.p99Ms)}`,
        rate(batched.result),
        `${num(batched.result.p50Ms)} / ${num(batched.result.p99Ms)}`,
        batch.count === 0 ? "—" : num(batch.sum / batch.count, 1),
        `${cpuPerReq(plain.key, plain.result)} / ${cpuPerReq(batched.key, batched.result)}`,
        `${num(ratio)}×`,
        `${num(p99Ratio)}×`,
      ]);
      if (s.backend === "triton" && c === Math.max(...CONCURRENCIES)) {
        verdicts.push(
          `Behind Triton at concurrency ${c}: batched/unbatched throughput ${num(ratio)}× (target ≥ 2×), p99 ${num(batched.result.p99Ms)} ms vs ${num(plain.result.p99Ms)} ms unbatched (target: no worse) — ${ratio >= 2 && p99Ratio <= 1 ? "met" : "missed"}.`,
        );
      }
    }
  }
  // A profiled gateway is slower: its table goes beside the real one, not over it.
  writeResult(profDir === undefined ? "batching" : "batching-profiled", [
    `MLP 256→1024→10, one row per request via POST /v1/models/<m>/predict (JSON), closed loop, ${ROUNDS} interleaved rounds of ${SECONDS} s per cell (samples pooled), batching = ${BATCHING}. One gateway process; emulator + load generator in this process.`,
    "",
    ...table(
      [
        "backend",
        "concurrency",
        "unbatched req/s",
        "unbatched p50 / p99 ms",
        "batched req/s",
        "batched p50 / p99 ms",
        "mean batch sent",
        "gateway CPU µs/req (unbatched / batched)",
        "batched / unbatched req/s",
        "batched / unbatched p99",
      ],
      rows,
    ),
    "",
    ...verdicts,
  ]);

  await gateway.stop();
  if (profDir !== undefined) writeResult("batching-profile", summarizeProfiles(profDir));
});
