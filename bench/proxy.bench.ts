/**
 * The gateway as a proxy, priced against plain proxies: the same KServe v2 REST infer sent
 * straight to a bare backend (`fixed-servers.ts`, replaying the Triton emulator's answers at the
 * cost of a bare node:http server), through nginx and HAProxy (one worker/thread each), and
 * through the gateway's two fronts (v2 REST and the unified /v1 predict) to that backend as a
 * Triton REST backend. Three load shapes per cell and round:
 *   - saturation: wrk closed loop, 32 connections (requests/second, CPU per request);
 *   - one at a time: wrk, one connection (latency and CPU per request with no batching of work);
 *   - open loop: evenly spaced arrivals at 1,000 req/s (`load.ts`, latency from the scheduled
 *     arrival), added latency over direct with a paired 95% interval over rounds.
 * Proxy CPU comes from /proc/<pid>/stat over each cell (all threads for the gateway, nginx's
 * worker, HAProxy's process). Cells rotate each round so the machine's weather lands on all alike.
 *
 * Env: BENCH_PROXY_ROUNDS (3), BENCH_PROXY_SECONDS (3 per closed-loop cell and round),
 * BENCH_PROXY_OPEN_SECONDS (2), BENCH_PROXY_RATE (1000), BENCH_BASELINE_CLI (another build's
 * dist/cli.js as one more gateway, before/after in one run), BENCH_CPU_PROF=1 (profile the first
 * gateway; its table goes to proxy-profiled.md and the profile summary to proxy-profile.md).
 */
import { it } from "vitest";
import { formatDelta, latencyPercentile, pairedInterval } from "./bootstrap.js";
import { deferCleanup } from "./cleanup.js";
import { type BenchClient, httpPost, v2JsonBody } from "./clients.js";
import { startEmulatorProcess } from "./emulators-process.js";
import { startReplayServer } from "./fixed-servers.js";
import { childPids, cpuMs, type GatewayProcess, startGateway } from "./gateway.js";
import { startHaproxy } from "./haproxy.js";
import { type LoadResult, openLoop } from "./load.js";
import { startNginx } from "./nginx.js";
import { cpuProfDir, summarizeProfiles } from "./profile.js";
import { envNumber, num, table, writeResult } from "./report.js";
import { runWrk, type WrkResult, wrkPostScript } from "./wrk.js";

const ROUNDS = envNumber("BENCH_PROXY_ROUNDS", 3);
const CLOSED_SECONDS = envNumber("BENCH_PROXY_SECONDS", 3);
const OPEN_SECONDS = envNumber("BENCH_PROXY_OPEN_SECONDS", 2);
const RATE = envNumber("BENCH_PROXY_RATE", 1000);
const BASELINE_CLI = process.env.BENCH_BASELINE_CLI || undefined;
const SATURATION_CONNECTIONS = 32;
const OPEN_CONNECTIONS = 16;
const ROW = [5.1, 3.5, 1.4, 0.2];
const V2_PATH = "/v2/models/iris/versions/1/infer";
const V1_PATH = "/v1/models/iris/predict";
/** The targets this scenario checks (bench/README.md). */
const TARGET = { vsNginx: 0.5, saturatedUs: 45, serialUs: 120, addedP50Ms: 0.3, addedP99Ms: 1.5 };

interface Cell {
  name: string;
  url: string;
  /** wrk's Lua script for this cell's request. */
  script: string;
  client: BenchClient;
  pids: () => number[];
  /** The gateway's v2 front of the main build (the one the targets are checked on). */
  main?: boolean;
}

type Phase = "saturation" | "serial" | "open";

interface Measured {
  wrk: WrkResult[];
  open: LoadResult[];
  cpuMs: number;
  requests: number;
}

it("the gateway against nginx and HAProxy as a proxy", { timeout: 30 * 60_000 }, async () => {
  const emulator = await startEmulatorProcess({ kind: "triton", grpc: false });
  if (emulator.restUrl === undefined) throw new Error("emulator REST listener");
  const backend = await startReplayServer(emulator.restUrl);
  const config = `server: { host: 127.0.0.1, port: 0 }
backends:
  rest: { type: triton, url: "${backend.url}", protocol: rest }
defaults: { timeoutMs: 5000 }
models:
  iris: { versions: { "1": { backend: rest, model: iris, version: "1" } } }
`;
  const profDir = cpuProfDir();
  const gateways: { label: string; process: GatewayProcess }[] = [
    {
      label: "gateway",
      process: await startGateway(config, profDir === undefined ? {} : { cpuProfDir: profDir }),
    },
  ];
  if (BASELINE_CLI !== undefined) {
    gateways.push({
      label: "gateway, baseline build",
      process: await startGateway(config, { cli: BASELINE_CLI }),
    });
  }
  for (const g of gateways) deferCleanup(() => g.process.stop());
  const nginx = await startNginx(backend.host);
  deferCleanup(() => nginx.stop());
  const haproxy = await startHaproxy(backend.host);
  deferCleanup(() => haproxy.stop());

  const v2Body = v2JsonBody("input", [1, 4], ROW);
  const v1Body = JSON.stringify({ inputs: [ROW] });
  const v2Script = wrkPostScript(v2Body);
  const v1Script = wrkPostScript(v1Body);
  const v2 = (name: string, origin: string, pids: () => number[], main = false): Cell => ({
    name,
    url: `${origin}${V2_PATH}`,
    script: v2Script,
    client: httpPost(origin, V2_PATH, v2Body, { connections: OPEN_CONNECTIONS }),
    pids,
    ...(main ? { main } : {}),
  });
  const cells: Cell[] = [
    v2("direct", backend.url, () => []),
    v2("nginx", nginx.url, () => childPids(nginx.pid)),
    v2("HAProxy", haproxy.url, () => [haproxy.pid]),
  ];
  for (const [i, g] of gateways.entries()) {
    const pids = () => [g.process.pid];
    cells.push(v2(`${g.label}, v2 REST front`, g.process.url, pids, i === 0));
    cells.push({
      name: `${g.label}, /v1 front`,
      url: `${g.process.url}${V1_PATH}`,
      script: v1Script,
      client: httpPost(g.process.url, V1_PATH, v1Body, { connections: OPEN_CONNECTIONS }),
      pids,
    });
  }
  for (const cell of cells) deferCleanup(() => cell.client.close());

  // Warm-up: JIT, connection pools, the backend's replay table.
  for (const cell of cells) {
    await runWrk(cell.url, cell.script, { connections: SATURATION_CONNECTIONS, seconds: 1 });
    await openLoop(() => cell.client.send(), { rate: RATE, seconds: 0.5 });
  }
  const results = new Map<string, Measured>();
  const record = (phase: Phase, cell: Cell, update: (m: Measured) => void) => {
    const key = `${phase} ${cell.name}`;
    const m = results.get(key) ?? { wrk: [], open: [], cpuMs: 0, requests: 0 };
    update(m);
    results.set(key, m);
  };
  for (let round = 0; round < ROUNDS; round++) {
    const order = cells.map((_, i) => cells[(i + round) % cells.length] as Cell);
    for (const cell of order) {
      const pids = cell.pids();
      const cpu = () => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
      for (const [phase, connections] of [
        ["saturation", SATURATION_CONNECTIONS],
        ["serial", 1],
      ] as const) {
        const before = cpu();
        const r = await runWrk(cell.url, cell.script, { connections, seconds: CLOSED_SECONDS });
        const used = cpu() - before;
        record(phase, cell, (m) => {
          m.wrk.push(r);
          m.cpuMs += used;
          m.requests += r.requests;
        });
      }
      const before = cpu();
      const r = await openLoop(() => cell.client.send(), { rate: RATE, seconds: OPEN_SECONDS });
      const used = cpu() - before;
      record("open", cell, (m) => {
        m.open.push(r);
        m.cpuMs += used;
        m.requests += r.requests + r.errors;
      });
    }
  }

  const get = (phase: Phase, cell: Cell | undefined) =>
    cell === undefined ? undefined : results.get(`${phase} ${cell.name}`);
  const direct = cells[0];
  const nginxCell = cells[1];
  const cpuPerRequest = (m: Measured, cell: Cell | undefined) =>
    cell === direct ? Number.NaN : (1000 * m.cpuMs) / Math.max(1, m.requests);
  const median = (xs: number[]) =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const closedRows = (phase: Phase) =>
    cells.map((cell) => {
      const m = get(phase, cell);
      if (m === undefined) return [cell.name];
      const rates = m.wrk.map((w) => w.perSecond);
      const nginxRate = median(get(phase, nginxCell)?.wrk.map((w) => w.perSecond) ?? []);
      const errors = m.wrk.reduce((s, w) => s + w.errors, 0);
      return [
        cell.name,
        `${num(median(rates), 0)} (${num(Math.min(...rates), 0)}–${num(Math.max(...rates), 0)})${errors > 0 ? ` ${errors} errors` : ""}`,
        `${num(median(rates) / nginxRate)}×`,
        num(median(m.wrk.map((w) => w.p50Ms))),
        num(median(m.wrk.map((w) => w.p99Ms))),
        num(cpuPerRequest(m, cell), 0),
      ];
    });
  const directOpen = get("open", direct)?.open ?? [];
  const added = (m: Measured, pct: number) =>
    pairedInterval(m.open, directOpen, latencyPercentile(pct), (a, b) => a - b, pct);
  const openRows = cells.map((cell) => {
    const m = get("open", cell);
    if (m === undefined) return [cell.name];
    const all = m.open.flatMap((r) => r.samples).sort((a, b) => a - b);
    const pct = (p: number) =>
      all[Math.min(all.length - 1, Math.floor((p / 100) * all.length))] ?? Number.NaN;
    const errors = m.open.reduce((s, r) => s + r.errors, 0);
    const seconds = m.open.reduce((s, r) => s + r.seconds, 0);
    return [
      cell.name,
      `${num(all.length / seconds, 0)}${errors > 0 ? ` (${errors} errors: ${m.open[0]?.firstError ?? "?"})` : ""}`,
      num(pct(50)),
      num(pct(99)),
      cell === direct ? "—" : formatDelta(added(m, 50)),
      cell === direct ? "—" : formatDelta(added(m, 99)),
      num(cpuPerRequest(m, cell), 0),
    ];
  });
  const closedHeader = [
    "path",
    "req/s, median (range) of rounds",
    "vs nginx",
    "p50 ms",
    "p99 ms",
    "proxy CPU µs/req",
  ];
  const mainCell = cells.find((c) => c.main === true);
  const verdict = (ok: boolean) => (ok ? "met" : "**missed**");
  const summary: string[] = [];
  const sat = get("saturation", mainCell);
  const serial = get("serial", mainCell);
  const open = get("open", mainCell);
  if (sat !== undefined && serial !== undefined && open !== undefined) {
    const ratio =
      median(sat.wrk.map((w) => w.perSecond)) /
      median(get("saturation", nginxCell)?.wrk.map((w) => w.perSecond) ?? []);
    const satUs = cpuPerRequest(sat, mainCell);
    const serialUs = cpuPerRequest(serial, mainCell);
    const p50 = added(open, 50);
    const p99 = added(open, 99);
    summary.push(
      `Gateway, v2 REST front, against the targets: saturation ${num(ratio)}× nginx's req/s (target ≥ ${TARGET.vsNginx}×: ${verdict(ratio >= TARGET.vsNginx)}); CPU ${num(satUs, 0)} µs/req saturated (target ≤ ${TARGET.saturatedUs}: ${verdict(satUs <= TARGET.saturatedUs)}), ${num(serialUs, 0)} µs/req one at a time (target ≤ ${TARGET.serialUs}: ${verdict(serialUs <= TARGET.serialUs)}); at ${RATE} req/s open loop it adds ${formatDelta(p50)} ms p50 (target ≤ ${TARGET.addedP50Ms}: ${verdict(p50.value <= TARGET.addedP50Ms)}) and ${formatDelta(p99)} ms p99 (target ≤ ${TARGET.addedP99Ms}: ${verdict(p99.value <= TARGET.addedP99Ms)}).`,
    );
  }
  const lines = [
    `KServe v2 REST infer of one iris row (FP32 [1, 4], JSON), to a bare node:http backend replaying the Triton emulator's answers; the gateway's /v1 front gets the same row as \`{"inputs": [[…]]}\`. ${ROUNDS} rounds, cells rotating each round; nginx 1 worker with upstream keep-alive, HAProxy 1 thread with \`http-reuse always\`, the gateway one process (started as \`npm start\` starts it)${BASELINE_CLI === undefined ? "" : ", and a baseline build beside it"}. Every server and the load generator run in a process of their own on the same 2 cores.`,
    "",
    `Saturation: wrk, 1 thread, ${SATURATION_CONNECTIONS} connections, ${CLOSED_SECONDS} s per cell and round.`,
    "",
    ...table(closedHeader, closedRows("saturation")),
    "",
    `One request at a time: wrk, 1 connection, ${CLOSED_SECONDS} s per cell and round.`,
    "",
    ...table(closedHeader, closedRows("serial")),
    "",
    `Open loop: ${RATE} req/s evenly spaced (a ~1 ms timer sends every request whose time has come; latency from the scheduled arrival), ${OPEN_CONNECTIONS} keep-alive connections, ${OPEN_SECONDS} s per cell and round; added = path − direct with a paired bootstrap 95% interval over rounds.`,
    "",
    ...table(
      [
        "path",
        "achieved req/s",
        "p50 ms",
        "p99 ms",
        "added p50 ms (95% CI)",
        "added p99 ms (95% CI)",
        "proxy CPU µs/req",
      ],
      openRows,
    ),
    "",
    "proxy CPU = /proc/<pid>/stat user+system over the cell (10 ms ticks) ÷ requests answered; the gateway's includes all its threads.",
    "",
    ...summary,
  ];
  writeResult(profDir === undefined ? "proxy" : "proxy-profiled", lines);
  const first = gateways[0];
  if (profDir !== undefined && first !== undefined) {
    await first.process.stop();
    writeResult("proxy-profile", summarizeProfiles(profDir, 30));
  }
});
