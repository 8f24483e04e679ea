/**
 * Scenario (c), the cache-hit path: iris with `cache: { ttlSeconds: 3600 }` (in-process tier; longer
 * than the run, so no entry expires mid-cell and turns hits into a burst of misses), the
 * same /v1 request repeated so every measured request is a hit (checked: `x-infergate-cache: hit`
 * on each answer), closed loop at concurrency 32 through the gateway. Beside it, in the same run:
 * the same model uncached (every request runs onnxruntime), and a bare `node:http` server in its
 * own process answering the same body — the most any one-process Node HTTP server gets from this
 * client on this machine, i.e. the ceiling a Node gateway's hit path is measured against.
 * Also records the gateway's RSS (scenario d).
 *
 * The gateway runs as `npm start` starts it (package.json's node flags); a second gateway on a plain
 * `node` answers the same cache hits, so what the flags change is measured in the same run (and
 * BENCH_BASELINE_CLI, another build's dist/cli.js, adds that build's cache hits: before/after a
 * change in one run). Rounds are short and many, the cells' order rotating each round, so bursts of
 * other work on the machine land on every cell alike; rates come with a 95% interval from a
 * bootstrap over rounds (`bootstrap.ts`).
 *
 * Env: BENCH_CACHE_SECONDS (default 1 per cell and round), BENCH_CACHE_ROUNDS (default 15),
 * BENCH_CACHE_CONCURRENCY (default 32), BENCH_BASELINE_CLI, BENCH_CPU_PROF=1.
 */
import { it } from "vitest";
import { MODELS_DIR } from "../test/emulators/runner.js";
import { formatRatio, pairedInterval, throughput } from "./bootstrap.js";
import { deferCleanup } from "./cleanup.js";
import { type BenchClient, httpPost } from "./clients.js";
import { startFixedServer } from "./fixed-servers.js";
import {
  cpuMs,
  type GatewayProcess,
  RssSampler,
  startGateway,
  startScriptFlags,
} from "./gateway.js";
import { closedLoop, combine, type LoadResult } from "./load.js";
import { recordMemory } from "./memory.js";
import { cpuProfDir, summarizeProfiles } from "./profile.js";
import { envNumber, num, rate, table, writeResult } from "./report.js";

const SECONDS = envNumber("BENCH_CACHE_SECONDS", 1);
const ROUNDS = envNumber("BENCH_CACHE_ROUNDS", 15);
/** Another build's dist/cli.js to run beside this one (before/after a change, same run). */
const BASELINE_CLI = process.env.BENCH_BASELINE_CLI || undefined;
const CONCURRENCY = envNumber("BENCH_CACHE_CONCURRENCY", 32);
const ROW = [5.1, 3.5, 1.4, 0.2];
const TARGET_HITS_PER_SECOND = 30_000;

interface Cell {
  name: string;
  client: BenchClient;
  pid: number;
  /** A cache-hit cell of a gateway other than the main one (compared with the main one's hits). */
  variant?: boolean;
}

it("cache hits per second through the gateway", { timeout: 15 * 60_000 }, async () => {
  const profDir = cpuProfDir();
  const config = `server: { host: 127.0.0.1, port: 0 }
backends:
  local: { type: onnx, modelDir: "${MODELS_DIR}" }
defaults: { timeoutMs: 5000 }
models:
  iris_cached: { versions: { "1": { backend: local, model: iris } }, cache: { ttlSeconds: 3600 } }
  iris_plain: { versions: { "1": { backend: local, model: iris } } }
`;
  const gateway = await startGateway(config, profDir === undefined ? {} : { cpuProfDir: profDir });
  deferCleanup(() => gateway.stop());
  const shipped = startScriptFlags();
  // Gateways whose cache hits are compared with the main one's: plain node, another build.
  const others: { name: string; process: GatewayProcess }[] = [];
  if (shipped.length > 0) {
    others.push({
      name: "gateway on plain node, cache hit",
      process: await startGateway(config, { startFlags: false }),
    });
  }
  if (BASELINE_CLI !== undefined) {
    others.push({
      name: "gateway, baseline build, cache hit",
      process: await startGateway(config, { cli: BASELINE_CLI }),
    });
  }
  for (const other of others) deferCleanup(() => other.process.stop());
  const memory = [{ phase: "idle, after start", rssMb: gateway.rssMb() }];

  const body = JSON.stringify({ inputs: [ROW] });
  // Prime the cache (a miss) and take the answer's body for the bare server to send.
  let answer = "";
  for (const g of [gateway, ...others.map((o) => o.process)]) {
    const first = await fetch(`${g.url}/v1/models/iris_cached/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    answer = await first.text();
    if (first.status !== 200) throw new Error(`priming request: ${first.status} ${answer}`);
  }
  const bare = await startFixedServer(answer);

  const opts = { connections: CONCURRENCY };
  const hitName =
    shipped.length === 0 ? "gateway, cache hit" : `gateway (${shipped.join(" ")}), cache hit`;
  const cells: Cell[] = [
    {
      name: hitName,
      client: httpPost(gateway.url, "/v1/models/iris_cached/predict", body, {
        ...opts,
        expectHeader: ["x-infergate-cache", "hit"],
      }),
      pid: gateway.pid,
    },
    {
      name: "gateway, uncached (onnx in process)",
      client: httpPost(gateway.url, "/v1/models/iris_plain/predict", body, opts),
      pid: gateway.pid,
    },
    {
      name: "bare node:http server, fixed answer",
      client: httpPost(bare.url, "/", body, opts),
      pid: bare.pid,
    },
    ...others.map(
      (o): Cell => ({
        name: o.name,
        client: httpPost(o.process.url, "/v1/models/iris_cached/predict", body, {
          ...opts,
          expectHeader: ["x-infergate-cache", "hit"],
        }),
        pid: o.process.pid,
        variant: true,
      }),
    ),
  ];
  for (const cell of cells) deferCleanup(() => cell.client.close());

  const runs = new Map<string, LoadResult[]>();
  const cpu = new Map<string, { serverMs: number; selfMs: number }>();
  let peakMb = 0;
  // Warm every cell's path (JIT, connections) before anything is measured.
  for (const cell of cells) {
    await closedLoop(() => cell.client.send(), { concurrency: CONCURRENCY, seconds: 1 });
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Rotating the order spreads drift on the machine and order effects over every cell alike.
    const order = cells.map((_, i) => cells[(i + round) % cells.length] as Cell);
    for (const cell of order) {
      const sampler = cell.pid === gateway.pid ? new RssSampler(gateway.pid) : undefined;
      const before = { server: cpuMs(cell.pid), self: process.cpuUsage() };
      const result = await closedLoop(() => cell.client.send(), {
        concurrency: CONCURRENCY,
        seconds: SECONDS,
        warmupSeconds: 0.2,
      });
      const self = process.cpuUsage(before.self);
      peakMb = Math.max(peakMb, sampler?.stop().peakMb ?? 0);
      const used = cpu.get(cell.name) ?? { serverMs: 0, selfMs: 0 };
      cpu.set(cell.name, {
        serverMs: used.serverMs + cpuMs(cell.pid) - before.server,
        selfMs: used.selfMs + (self.user + self.system) / 1000,
      });
      runs.set(cell.name, [...(runs.get(cell.name) ?? []), result]);
    }
  }
  memory.push({ phase: "peak during the cache load", rssMb: peakMb });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  memory.push({ phase: "2 s after the load", rssMb: gateway.rssMb() });
  if (profDir === undefined)
    recordMemory("cache", "iris → onnx in process, cache on and off", memory);

  const results = new Map([...runs].map(([name, list]) => [name, combine(list)]));
  const hitRounds = runs.get(hitName) ?? [];
  const hits = results.get(hitName);
  const ceiling = results.get(cells[2]?.name ?? "");
  const rows = cells.map((cell) => {
    const r = results.get(cell.name);
    const used = cpu.get(cell.name);
    if (r === undefined || used === undefined) return [cell.name];
    const n = r.requests + r.errors;
    const rounds = runs.get(cell.name) ?? [];
    const own = pairedInterval(rounds, rounds, throughput, (x) => x);
    return [
      cell.name,
      rate(r),
      `${num(own.low, 0)}–${num(own.high, 0)}`,
      num(r.p50Ms),
      num(r.p99Ms),
      hits === undefined
        ? "—"
        : formatRatio(pairedInterval(rounds, hitRounds, throughput, (a, b) => a / b)),
      num((100 * used.serverMs) / 1000 / r.seconds, 0),
      num((1000 * used.serverMs) / n, 0),
      num((100 * used.selfMs) / 1000 / r.seconds, 0),
    ];
  });
  const verdict =
    hits === undefined || ceiling === undefined
      ? ""
      : `Cache hits: ${num(hits.perSecond, 0)}/s (95% interval ${rows[0]?.[2] ?? "—"}; target ≥ ${TARGET_HITS_PER_SECOND}/s: ${hits.perSecond >= TARGET_HITS_PER_SECOND ? "met" : "missed"}); ${num(hits.perSecond / ceiling.perSecond)}× what a bare node:http server reaches with the same client on this machine.${cells
          .filter((c) => c.variant === true)
          .map(
            (c) =>
              ` ${c.name}: ${formatRatio(pairedInterval(runs.get(c.name) ?? [], hitRounds, throughput, (a, b) => a / b))}× the main gateway's hits.`,
          )
          .join("")}`;
  // A profiled gateway is slower: its table goes beside the real one, not over it.
  writeResult(profDir === undefined ? "cache" : "cache-profiled", [
    `Iris, one row per request, POST /v1 (JSON), closed loop, ${CONCURRENCY} concurrent clients on ${CONCURRENCY} keep-alive connections, ${ROUNDS} rounds of ${SECONDS} s per cell, the cells' order rotating each round (samples pooled per cell), after 1 s warm-up per cell. Every "cache hit" answer was checked to carry x-infergate-cache: hit. Each server and the load generator in a process of its own; the first gateway is started as \`npm start\` starts it.`,
    "",
    ...table(
      [
        "server",
        "req/s",
        "req/s 95% CI",
        "p50 ms",
        "p99 ms",
        "req/s vs the first row (95% CI)",
        "server CPU %",
        "server CPU µs/req",
        "client CPU %",
      ],
      rows,
    ),
    "",
    "Intervals: bootstrap over rounds (paired by round for the ratios: a round's cells shared the machine's weather). server CPU from /proc/<pid>/stat (100% = one core; the gateway's includes its threads); client CPU = the load generator's process. The machine has 2 cores in all.",
    "",
    verdict,
  ]);

  await gateway.stop();
  if (profDir !== undefined) writeResult("cache-profile", summarizeProfiles(profDir));
});
