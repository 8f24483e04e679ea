/**
 * Scenario (a), gateway overhead: iris, one row per request, OPEN loop at fixed rates (default
 * 1,000 and 2,000 requests/second), p50/p90/p99 and throughput, for the same request sent
 *   - REST (KServe v2 JSON): straight to the Triton emulator's REST port, through nginx as a plain
 *     reverse proxy in front of that port, and through the gateway (v2 REST front → Triton REST);
 *   - gRPC (KServe v2 ModelInfer): straight to the Triton emulator's gRPC port, and through the
 *     gateway (v2 gRPC front → Triton gRPC).
 * The client sends the same bytes in every cell, so "added latency" is the path's alone. The
 * emulator and the load generator share this process; the gateway and nginx run in their own.
 * Also records the gateway's RSS (scenario d) and, with BENCH_CPU_PROF=1, its CPU profile.
 *
 * Each cell runs ROUNDS times, interleaved with the others, and its rounds' samples are pooled.
 *
 * Env: BENCH_RATES (default "1000,2000"), BENCH_OVERHEAD_SECONDS (default 4 per cell and round),
 * BENCH_OVERHEAD_ROUNDS (default 3), BENCH_CPU_PROF=1 (profile the gateway).
 */
import { it } from "vitest";
import { MODELS_DIR, ModelRunner } from "../test/emulators/runner.js";
import { startTritonEmulator } from "../test/emulators/triton/index.js";
import { deferCleanup } from "./cleanup.js";
import { type BenchClient, grpcInfer, httpPost, v2JsonBody } from "./clients.js";
import { childPids, cpuMs, RssSampler, startGateway } from "./gateway.js";
import { combine, type LoadResult, openLoop } from "./load.js";
import { recordMemory } from "./memory.js";
import { startNginx } from "./nginx.js";
import { cpuProfDir, summarizeProfiles } from "./profile.js";
import { delta, envNumber, envNumbers, num, rate, table, writeResult } from "./report.js";

const RATES = envNumbers("BENCH_RATES", [1000, 2000]);
const SECONDS = envNumber("BENCH_OVERHEAD_SECONDS", 4);
const ROUNDS = envNumber("BENCH_OVERHEAD_ROUNDS", 3);
const WARMUP_SECONDS = 1;
/** Enough connections that a burst never waits for one at these rates and latencies. */
const CONNECTIONS = 64;
const ROW = [5.1, 3.5, 1.4, 0.2];

interface Cell {
  protocol: "REST" | "gRPC";
  path: "direct" | "nginx" | "gateway";
  client: BenchClient;
}

it("gateway overhead at fixed rates vs direct and nginx", { timeout: 15 * 60_000 }, async () => {
  const runner = await ModelRunner.load(MODELS_DIR);
  const triton = await startTritonEmulator({ runner });
  deferCleanup(() => triton.close());
  const restUrl = triton.restUrl;
  const grpcAddress = triton.grpcAddress;
  if (restUrl === undefined || grpcAddress === undefined) throw new Error("emulator listeners");

  const profDir = cpuProfDir();
  const gateway = await startGateway(
    `server: { host: 127.0.0.1, port: 0, grpcPort: 0 }
backends:
  rest: { type: triton, url: "${restUrl}", protocol: rest }
  grpc: { type: triton, grpc: "${grpcAddress}", protocol: grpc }
defaults: { timeoutMs: 5000 }
models:
  iris:
    versions:
      "1": { backend: rest, model: iris, version: "1" }
      "2": { backend: grpc, model: iris, version: "1" }
`,
    { grpc: true, ...(profDir === undefined ? {} : { cpuProfDir: profDir }) },
  );
  deferCleanup(() => gateway.stop());
  const idleMb = gateway.rssMb();
  const nginx = await startNginx(new URL(restUrl).host);
  deferCleanup(() => nginx.stop());
  const gatewayGrpc = gateway.grpcAddress;
  if (gatewayGrpc === undefined) throw new Error("gateway gRPC listener");

  const body = v2JsonBody("input", [1, 4], ROW);
  const path = "/v2/models/iris/versions/1/infer";
  const input = { name: "input", shape: [1, 4], data: ROW };
  const cells: Cell[] = [
    {
      protocol: "REST",
      path: "direct",
      client: httpPost(restUrl, path, body, { connections: CONNECTIONS }),
    },
    {
      protocol: "REST",
      path: "nginx",
      client: httpPost(nginx.url, path, body, { connections: CONNECTIONS }),
    },
    {
      protocol: "REST",
      path: "gateway",
      client: httpPost(gateway.url, path, body, { connections: CONNECTIONS }),
    },
    { protocol: "gRPC", path: "direct", client: grpcInfer(grpcAddress, "iris", "1", input) },
    { protocol: "gRPC", path: "gateway", client: grpcInfer(gatewayGrpc, "iris", "2", input) },
  ];
  for (const cell of cells) deferCleanup(() => cell.client.close());

  const rows: string[][] = [];
  const summary: string[] = [];
  const memory = [{ phase: "idle, after start", rssMb: idleMb }];
  for (const r of RATES) {
    for (const cell of cells)
      await openLoop(() => cell.client.send(), { rate: r, seconds: WARMUP_SECONDS });
    const runs = new Map<string, LoadResult[]>();
    const cpu = new Map<string, { proxyMs: number; selfMs: number }>();
    const peak = new Map<string, number>();
    // Rounds interleave the cells, so that other work on the machine hits every cell alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const cell of cells) {
        const key = `${cell.protocol} ${cell.path}`;
        const sampler = cell.path === "gateway" ? new RssSampler(gateway.pid) : undefined;
        const proxyPids =
          cell.path === "gateway"
            ? [gateway.pid]
            : cell.path === "nginx"
              ? childPids(nginx.pid)
              : [];
        const proxyCpu = () => proxyPids.reduce((sum, pid) => sum + cpuMs(pid), 0);
        const before = { proxy: proxyCpu(), self: process.cpuUsage() };
        const result = await openLoop(() => cell.client.send(), { rate: r, seconds: SECONDS });
        const self = process.cpuUsage(before.self);
        const used = cpu.get(key) ?? { proxyMs: 0, selfMs: 0 };
        cpu.set(key, {
          proxyMs: used.proxyMs + (proxyPids.length === 0 ? Number.NaN : proxyCpu() - before.proxy),
          selfMs: used.selfMs + (self.user + self.system) / 1000,
        });
        const rss = sampler?.stop();
        if (rss !== undefined)
          peak.set(cell.protocol, Math.max(peak.get(cell.protocol) ?? 0, rss.peakMb));
        runs.set(key, [...(runs.get(key) ?? []), result]);
        triton.calls.length = 0; // the emulator's call record would grow for the whole run
      }
    }
    for (const [protocol, mb] of peak)
      memory.push({ phase: `peak during ${r} rps ${protocol}`, rssMb: mb });
    const results = new Map([...runs].map(([key, list]) => [key, combine(list)]));
    for (const cell of cells) {
      const key = `${cell.protocol} ${cell.path}`;
      const res = results.get(key);
      const direct = results.get(`${cell.protocol} direct`);
      const used = cpu.get(key);
      if (res === undefined || direct === undefined || used === undefined) continue;
      const requests = res.requests + res.errors;
      const isDirect = cell.path === "direct";
      rows.push([
        String(r),
        cell.protocol,
        cell.path,
        rate(res),
        num(res.p50Ms),
        num(res.p90Ms),
        num(res.p99Ms),
        isDirect ? "—" : delta(res.p50Ms - direct.p50Ms),
        isDirect ? "—" : delta(res.p99Ms - direct.p99Ms),
        num((100 * used.proxyMs) / 1000 / res.seconds, 0),
        num((1000 * used.proxyMs) / requests, 0),
        num((100 * used.selfMs) / 1000 / res.seconds, 0),
      ]);
    }
    summary.push(summaryLine(r, results), "");
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  memory.push({ phase: "2 s after the load", rssMb: gateway.rssMb() });
  if (profDir === undefined) recordMemory("overhead", "iris → Triton emulator REST + gRPC", memory);

  const lines = [
    `Iris, one row per request, open loop (arrivals on a ~1 ms timer, latency from the scheduled arrival), ${ROUNDS} interleaved rounds of ${SECONDS} s per cell (samples pooled) after ${WARMUP_SECONDS} s warm-up, ${CONNECTIONS} client connections (HTTP) / one HTTP/2 connection (gRPC). Same request bytes in every cell of a protocol. Emulator + load generator in one process; gateway and nginx (1 worker) in their own.`,
    "",
    ...table(
      [
        "rate req/s",
        "protocol",
        "path",
        "achieved req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "added p50 ms",
        "added p99 ms",
        "proxy CPU %",
        "proxy CPU µs/req",
        "client+emulator CPU %",
      ],
      rows,
    ),
    "",
    "proxy CPU = the gateway process (all threads) or nginx's worker, from /proc/<pid>/stat over the cell (100% = one core); client+emulator CPU = this process. The machine has 2 cores in all.",
    "",
    ...summary,
  ];
  // A profiled gateway is slower: its table goes beside the real one, not over it.
  writeResult(profDir === undefined ? "overhead" : "overhead-profiled", lines);

  await gateway.stop();
  if (profDir !== undefined) writeResult("overhead-profile", summarizeProfiles(profDir));
});

/** The numbers for one rate: gateway's and nginx's added latency, and their ratio. */
function summaryLine(r: number, results: Map<string, LoadResult>): string {
  const get = (key: string) => results.get(key);
  const direct = get("REST direct");
  const viaNginx = get("REST nginx");
  const viaGateway = get("REST gateway");
  const grpcDirect = get("gRPC direct");
  const grpcGateway = get("gRPC gateway");
  if (!direct || !viaNginx || !viaGateway || !grpcDirect || !grpcGateway) return "";
  const gw50 = viaGateway.p50Ms - direct.p50Ms;
  const gw99 = viaGateway.p99Ms - direct.p99Ms;
  const ng50 = viaNginx.p50Ms - direct.p50Ms;
  const ng99 = viaNginx.p99Ms - direct.p99Ms;
  return `At ${r} req/s: the gateway adds ${delta(gw50)} ms p50 / ${delta(gw99)} ms p99 over direct REST (target ≤ 0.5 / ≤ 2), nginx adds ${delta(ng50)} / ${delta(ng99)} (gateway/nginx added p50: ${num(gw50 / ng50, 1)}×); over gRPC the gateway adds ${delta(grpcGateway.p50Ms - grpcDirect.p50Ms)} / ${delta(grpcGateway.p99Ms - grpcDirect.p99Ms)}. Gateway p50 / direct p50: REST ${num(viaGateway.p50Ms / direct.p50Ms)}×, gRPC ${num(grpcGateway.p50Ms / grpcDirect.p50Ms)}×.`;
}
