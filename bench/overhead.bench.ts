/**
 * Scenario (a), gateway overhead: iris, one row per request, OPEN loop at fixed rates (default
 * 1,000 and 2,000 requests/second), p50/p90/p99 and throughput, for the same request sent
 *   - REST (KServe v2 JSON): straight to the Triton emulator's REST port, through nginx as a plain
 *     reverse proxy in front of that port, and through the gateway (v2 REST front → Triton REST);
 *   - gRPC (KServe v2 ModelInfer): straight to the Triton emulator's gRPC port, and through the
 *     gateway (v2 gRPC front → Triton gRPC).
 * The client sends the same bytes in every cell, so "added latency" is the path's alone. The
 * emulator runs in a process of its own (`emulators-process.ts`), so this process's event loop
 * belongs to the load generator alone; the gateway and nginx run in their own too.
 *
 * Two gateways run side by side: one started as `npm start` starts it (package.json's node flags)
 * and one on a plain `node`, so what the flags change is measured in the same run (and any
 * BENCH_OVERHEAD_VARIANTS, a `;`-separated list of node flag sets, adds one gateway each).
 *
 * Rounds are short and many, the cells' order rotating each round, so that bursts of other work on
 * the machine land on every cell alike; the added latencies come with a 95% interval from a paired
 * bootstrap over rounds (`bootstrap.ts`). Also records the gateway's RSS (scenario d), its
 * event-loop delay per cell (its own `/metrics`), and with BENCH_CPU_PROF=1 its CPU profile.
 *
 * Env: BENCH_RATES (default "1000,2000"), BENCH_OVERHEAD_SECONDS (default 1 per cell and round),
 * BENCH_OVERHEAD_ROUNDS (default 20), BENCH_OVERHEAD_GRPC=0 (skip the gRPC cells),
 * BENCH_OVERHEAD_VARIANTS, BENCH_BASELINE_CLI (another build's dist/cli.js, e.g. the last commit's,
 * as one more gateway: before/after in one run), BENCH_CPU_PROF=1 (profile the gateway started as `npm start` does).
 */
import { it } from "vitest";
import { formatDelta, latencyPercentile, pairedInterval } from "./bootstrap.js";
import { deferCleanup } from "./cleanup.js";
import { type BenchClient, grpcInfer, httpPost, v2JsonBody } from "./clients.js";
import { startEmulatorProcess } from "./emulators-process.js";
import {
  childPids,
  cpuMs,
  eventLoopDelay,
  type GatewayProcess,
  type LoopDelay,
  RssSampler,
  startGateway,
  startScriptFlags,
} from "./gateway.js";
import { combine, type LoadResult, openLoop } from "./load.js";
import { recordMemory } from "./memory.js";
import { startNginx } from "./nginx.js";
import { cpuProfDir, summarizeProfiles } from "./profile.js";
import { envNumber, envNumbers, num, rate, table, writeResult } from "./report.js";

const RATES = envNumbers("BENCH_RATES", [1000, 2000]);
const SECONDS = envNumber("BENCH_OVERHEAD_SECONDS", 1);
const ROUNDS = envNumber("BENCH_OVERHEAD_ROUNDS", 20);
const WITH_GRPC = process.env.BENCH_OVERHEAD_GRPC !== "0";
const VARIANTS = (process.env.BENCH_OVERHEAD_VARIANTS ?? "")
  .split(";")
  .map((v) => v.trim())
  .filter((v) => v !== "");
/** Another build's dist/cli.js to run beside this one (before/after a change, same run). */
const BASELINE_CLI = process.env.BENCH_BASELINE_CLI || undefined;
const WARMUP_SECONDS = 1;
/** Enough connections that a burst never waits for one at these rates and latencies. */
const CONNECTIONS = 64;
const ROW = [5.1, 3.5, 1.4, 0.2];
/** The targets (bench/README.md) for the gateway's added latency over direct REST at 1000 req/s. */
const TARGET_P50_MS = 0.5;
const TARGET_P99_MS = 2;

/** One gateway process and how it was started. */
interface Gateway {
  label: string;
  process: GatewayProcess;
}

interface Cell {
  protocol: "REST" | "gRPC";
  /** "direct", "nginx", or a gateway's label. */
  path: string;
  client: BenchClient;
  /** The proxy's pids (CPU), none for direct. */
  proxyPids: () => number[];
  gateway?: GatewayProcess;
}

it("gateway overhead at fixed rates vs direct and nginx", { timeout: 30 * 60_000 }, async () => {
  const emulator = await startEmulatorProcess({ kind: "triton" });
  const restUrl = emulator.restUrl;
  const grpcAddress = emulator.grpcAddress;
  if (restUrl === undefined || grpcAddress === undefined) throw new Error("emulator listeners");

  const config = `server: { host: 127.0.0.1, port: 0, grpcPort: 0 }
backends:
  rest: { type: triton, url: "${restUrl}", protocol: rest }
  grpc: { type: triton, grpc: "${grpcAddress}", protocol: grpc }
defaults: { timeoutMs: 5000 }
models:
  iris:
    versions:
      "1": { backend: rest, model: iris, version: "1" }
      "2": { backend: grpc, model: iris, version: "1" }
`;
  const profDir = cpuProfDir();
  const shipped = startScriptFlags();
  const gateways: Gateway[] = [
    {
      label: shipped.length === 0 ? "gateway" : `gateway (${shipped.join(" ")})`,
      process: await startGateway(config, {
        grpc: true,
        ...(profDir === undefined ? {} : { cpuProfDir: profDir }),
      }),
    },
  ];
  if (shipped.length > 0) {
    gateways.push({
      label: "gateway, plain node",
      process: await startGateway(config, { grpc: true, startFlags: false }),
    });
  }
  if (BASELINE_CLI !== undefined) {
    gateways.push({
      label: "gateway, baseline build",
      process: await startGateway(config, { grpc: true, cli: BASELINE_CLI }),
    });
  }
  for (const flags of VARIANTS) {
    gateways.push({
      label: `gateway (${flags})`,
      process: await startGateway(config, {
        grpc: true,
        startFlags: false,
        nodeArgs: flags.split(/\s+/),
      }),
    });
  }
  for (const g of gateways) deferCleanup(() => g.process.stop());
  const main = gateways[0];
  if (main === undefined) throw new Error("no gateway");
  const idleMb = main.process.rssMb();
  const nginx = await startNginx(new URL(restUrl).host);
  deferCleanup(() => nginx.stop());

  const body = v2JsonBody("input", [1, 4], ROW);
  const path = "/v2/models/iris/versions/1/infer";
  const input = { name: "input", shape: [1, 4], data: ROW };
  const http = (origin: string) => httpPost(origin, path, body, { connections: CONNECTIONS });
  const cells: Cell[] = [
    { protocol: "REST", path: "direct", client: http(restUrl), proxyPids: () => [] },
    {
      protocol: "REST",
      path: "nginx",
      client: http(nginx.url),
      proxyPids: () => childPids(nginx.pid),
    },
    ...gateways.map(
      (g): Cell => ({
        protocol: "REST",
        path: g.label,
        client: http(g.process.url),
        proxyPids: () => [g.process.pid],
        gateway: g.process,
      }),
    ),
  ];
  if (WITH_GRPC) {
    cells.push({
      protocol: "gRPC",
      path: "direct",
      client: grpcInfer(grpcAddress, "iris", "1", input),
      proxyPids: () => [],
    });
    for (const g of gateways) {
      const address = g.process.grpcAddress;
      if (address === undefined) throw new Error("gateway gRPC listener");
      cells.push({
        protocol: "gRPC",
        path: g.label,
        client: grpcInfer(address, "iris", "2", input),
        proxyPids: () => [g.process.pid],
        gateway: g.process,
      });
    }
  }
  for (const cell of cells) deferCleanup(() => cell.client.close());
  const keyOf = (cell: Cell) => `${cell.protocol} ${cell.path}`;

  const rows: string[][] = [];
  const summary: string[] = [];
  const memory = [{ phase: "idle, after start", rssMb: idleMb }];
  for (const r of RATES) {
    for (const cell of cells)
      await openLoop(() => cell.client.send(), { rate: r, seconds: WARMUP_SECONDS });
    const runs = new Map<string, LoadResult[]>();
    const cpu = new Map<string, { proxyMs: number; selfMs: number; emulatorMs: number }>();
    const delays = new Map<string, LoopDelay[]>();
    const peak = new Map<string, number>();
    // Rotating the order each round spreads drift on the machine and order effects (a GC owed by
    // the previous cell, warm caches) over every cell alike.
    for (let round = 0; round < ROUNDS; round++) {
      const order = cells.map((_, i) => cells[(i + round) % cells.length] as Cell);
      for (const cell of order) {
        const key = keyOf(cell);
        const measured = cell.gateway === main.process;
        const sampler = measured ? new RssSampler(main.process.pid) : undefined;
        // Reading the gateway's /metrics resets its event-loop delay histogram.
        if (cell.gateway !== undefined) await eventLoopDelay(cell.gateway.url);
        const proxyPids = cell.proxyPids();
        const proxyCpu = () => proxyPids.reduce((sum, pid) => sum + cpuMs(pid), 0);
        const before = {
          proxy: proxyCpu(),
          self: cpuMs(process.pid),
          emulator: cpuMs(emulator.pid),
        };
        const result = await openLoop(() => cell.client.send(), { rate: r, seconds: SECONDS });
        const used = cpu.get(key) ?? { proxyMs: 0, selfMs: 0, emulatorMs: 0 };
        cpu.set(key, {
          proxyMs: used.proxyMs + (proxyPids.length === 0 ? Number.NaN : proxyCpu() - before.proxy),
          selfMs: used.selfMs + cpuMs(process.pid) - before.self,
          emulatorMs: used.emulatorMs + cpuMs(emulator.pid) - before.emulator,
        });
        if (cell.gateway !== undefined) {
          delays.set(key, [...(delays.get(key) ?? []), await eventLoopDelay(cell.gateway.url)]);
        }
        const rss = sampler?.stop();
        if (rss !== undefined)
          peak.set(cell.protocol, Math.max(peak.get(cell.protocol) ?? 0, rss.peakMb));
        runs.set(key, [...(runs.get(key) ?? []), result]);
      }
    }
    for (const [protocol, mb] of peak)
      memory.push({ phase: `peak during ${r} rps ${protocol}`, rssMb: mb });
    const pooled = new Map([...runs].map(([key, list]) => [key, combine(list)]));
    for (const cell of cells) {
      const key = keyOf(cell);
      const res = pooled.get(key);
      const rounds = runs.get(key) ?? [];
      const directRounds = runs.get(`${cell.protocol} direct`) ?? [];
      const used = cpu.get(key);
      if (res === undefined || used === undefined) continue;
      const requests = res.requests + res.errors;
      const isDirect = cell.path === "direct";
      const added = (pct: number) =>
        isDirect
          ? "—"
          : formatDelta(
              pairedInterval(rounds, directRounds, latencyPercentile(pct), (a, b) => a - b, pct),
            );
      const delay = delays.get(key);
      rows.push([
        String(r),
        cell.protocol,
        cell.path,
        rate(res),
        num(res.p50Ms),
        num(res.p90Ms),
        num(res.p99Ms),
        added(50),
        added(99),
        num((1000 * used.proxyMs) / requests, 0),
        delay === undefined ? "—" : delayText(delay),
        num((100 * used.selfMs) / 1000 / res.seconds, 0),
        num((100 * used.emulatorMs) / 1000 / res.seconds, 0),
      ]);
    }
    summary.push(summaryLine(r, runs, gateways), "");
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  memory.push({ phase: "2 s after the load", rssMb: main.process.rssMb() });
  if (profDir === undefined) recordMemory("overhead", "iris → Triton emulator REST + gRPC", memory);

  const lines = [
    `Iris, one row per request, open loop (arrivals on a ~1 ms timer, latency from the scheduled arrival), ${ROUNDS} rounds of ${SECONDS} s per cell, the cells' order rotating each round (samples pooled per cell), after ${WARMUP_SECONDS} s warm-up per cell; ${CONNECTIONS} client connections (HTTP) / one HTTP/2 connection (gRPC). Same request bytes in every cell of a protocol. The Triton emulator, each gateway, nginx (1 worker) and the load generator each run in a process of their own. Gateways: ${gateways.map((g) => `**${g.label}**`).join(", ")} (the first is started as \`npm start\` starts it).`,
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
        "added p50 ms (95% CI)",
        "added p99 ms (95% CI)",
        "proxy CPU µs/req",
        "gateway event-loop delay ms, p99 / max",
        "load generator CPU %",
        "emulator CPU %",
      ],
      rows,
    ),
    "",
    "added = path − direct of the same protocol, pooled over the rounds; the interval is a paired bootstrap over rounds (a round's cells shared the machine's weather). proxy CPU = the gateway process (all threads) or nginx's worker, from /proc/<pid>/stat over the cell (10 ms ticks). Event-loop delay: the gateway's own `monitorEventLoopDelay` (prom-client's 10 ms timer, reset before each cell), ms beyond the timer's period: median over rounds of each round's p99 / the worst round's max. The machine has 2 cores in all, shared by the load generator, the emulator and the proxy under test.",
    "",
    ...summary,
  ];
  // A profiled gateway is slower: its table goes beside the real one, not over it.
  writeResult(profDir === undefined ? "overhead" : "overhead-profiled", lines);

  await main.process.stop();
  if (profDir !== undefined) writeResult("overhead-profile", summarizeProfiles(profDir));
});

function delayText(delays: readonly LoopDelay[]): string {
  const p99s = delays.map((d) => d.p99Ms).sort((a, b) => a - b);
  const median = p99s[Math.floor(p99s.length / 2)] ?? Number.NaN;
  const worst = Math.max(...delays.map((d) => d.maxMs));
  return `${num(median, 1)} / ${num(worst, 1)}`;
}

/** The summary numbers for one rate: each gateway's and nginx's added latency over direct REST. */
function summaryLine(
  r: number,
  runs: Map<string, LoadResult[]>,
  gateways: readonly Gateway[],
): string {
  const direct = runs.get("REST direct") ?? [];
  const added = (key: string, pct: number) =>
    pairedInterval(runs.get(key) ?? [], direct, latencyPercentile(pct), (a, b) => a - b, pct);
  const parts = gateways.map((g) => {
    const p50 = added(`REST ${g.label}`, 50);
    const p99 = added(`REST ${g.label}`, 99);
    const verdict = `${p50.value <= TARGET_P50_MS ? "met" : "missed"} / ${p99.value <= TARGET_P99_MS ? "met" : "missed"}`;
    return `${g.label} adds ${formatDelta(p50)} ms p50 / ${formatDelta(p99)} ms p99 (target ≤ ${TARGET_P50_MS} / ≤ ${TARGET_P99_MS}: ${verdict})`;
  });
  const ng50 = added("REST nginx", 50);
  const ng99 = added("REST nginx", 99);
  return `At ${r} req/s over direct REST: ${parts.join("; ")}; nginx adds ${formatDelta(ng50)} / ${formatDelta(ng99)}.`;
}
