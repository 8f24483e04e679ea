/**
 * Shadow traffic must not touch the client (the criterion in bench/README.md: "a shadow target ten
 * times slower leaves the client's latency unchanged"). Iris version "1" on one Triton emulator
 * (gRPC) is the primary; version "2" on a second Triton emulator is the shadow. Each emulator runs
 * in a process of its own (`emulators-process.ts`), so this process's event loop belongs to the
 * load generator alone.
 *
 * Three arms, measured in alternating rounds of every cell in one run:
 * - `none`: a gateway without `shadow`;
 * - `same`: a gateway with `shadow: { version: "2", percent: 100 }`, the shadow as fast as the
 *   primary (delay 0);
 * - `slow`: the same shadowed gateway, the shadow emulator delaying every answer by ten times the
 *   primary's p50 through the gateway (at least 20 ms).
 * The criterion is slow / none and slow / same of the client's p50 and p99 in open-loop cells at
 * rates the machine carries with headroom (the table shows the cores busy). One closed-loop cell
 * shows saturation, where the copies' CPU (a second backend call per request) is expected to show.
 * Rounds are short and many, so that bursts of other work on the machine land on every arm alike;
 * each ratio comes with a 95% interval from a paired bootstrap over the rounds.
 *
 * Env: BENCH_SHADOW_SECONDS (default 1 per cell, arm and round), BENCH_SHADOW_ROUNDS (default 20),
 * BENCH_SHADOW_RATES (open-loop req/s, comma list, default "100,300"), BENCH_SHADOW_CONCURRENCY
 * (closed-loop cell, default 8; 0 skips it), BENCH_SHADOW_NICE (niceness of the shadow emulator,
 * a diagnostic written to shadow-nice.md; default 0), BENCH_CPU_PROF=1 (profile the shadowed
 * gateway: shadow-profile.md).
 */
import { it } from "vitest";
import { formatRatio, latencyPercentile, pairedInterval } from "./bootstrap.js";
import { deferCleanup } from "./cleanup.js";
import { httpPost } from "./clients.js";
import { type EmulatorProcess, startEmulatorProcess } from "./emulators-process.js";
import { cpuMs, type GatewayProcess, startGateway } from "./gateway.js";
import { closedLoop, combine, type LoadResult, openLoop } from "./load.js";
import { metricSum } from "./metrics.js";
import { cpuProfDir, summarizeProfiles } from "./profile.js";
import { envNumber, envNumbers, num, rate, table, writeResult } from "./report.js";

const SECONDS = envNumber("BENCH_SHADOW_SECONDS", 1);
const ROUNDS = envNumber("BENCH_SHADOW_ROUNDS", 20);
const RATES = envNumbers("BENCH_SHADOW_RATES", [100, 300]);
const CONCURRENCY =
  process.env.BENCH_SHADOW_CONCURRENCY === "0" ? 0 : envNumber("BENCH_SHADOW_CONCURRENCY", 8);
/** Niceness of the shadow emulator (a diagnostic: its CPU then yields to the primary path). */
const SHADOW_NICE =
  (process.env.BENCH_SHADOW_NICE ?? "0") === "0" ? 0 : envNumber("BENCH_SHADOW_NICE", 0);
const BODY = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });
const PATH = "/v1/models/iris/predict";

const ARMS = ["none", "same", "slow"] as const;
type Arm = (typeof ARMS)[number];

function config(primary: string, shadow: string, withShadow: boolean): string {
  return `server: { host: 127.0.0.1, port: 0 }
backends:
  primary: { type: triton, grpc: "${primary}", protocol: grpc }
  slow: { type: triton, grpc: "${shadow}", protocol: grpc }
defaults: { timeoutMs: 5000 }
models:
  iris:
    default: "1"
    versions:
      "1": { backend: primary, model: iris }
      "2": { backend: slow, model: iris }
${withShadow ? `    shadow: { version: "2", percent: 100 }\n` : ""}`;
}

interface Cell {
  name: string;
  /** The closed-loop cell, run at the machine's limit. */
  saturates: boolean;
  load: (send: () => Promise<void>) => Promise<LoadResult>;
}

/** CPU ms of each process over one arm's run, and the run's wall time. */
interface CpuSample {
  gateway: number;
  primary: number;
  shadow: number;
  bench: number;
  wallMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function grpcOf(emulator: EmulatorProcess): string {
  if (emulator.grpcAddress === undefined) throw new Error("the Triton emulator did not open gRPC");
  return emulator.grpcAddress;
}

it(
  "client latency: no shadow vs a same-speed shadow vs a ten-times-slower shadow",
  async () => {
    const [primary, slow] = await Promise.all([
      startEmulatorProcess({ kind: "triton", rest: false }),
      startEmulatorProcess({
        kind: "triton",
        rest: false,
        ...(SHADOW_NICE > 0 ? { nice: SHADOW_NICE } : {}),
      }),
    ]);
    const profDir = cpuProfDir();
    const shadowed = await startGateway(
      config(grpcOf(primary), grpcOf(slow), true),
      profDir === undefined ? {} : { cpuProfDir: profDir },
    );
    deferCleanup(() => shadowed.stop());
    const plain = await startGateway(config(grpcOf(primary), grpcOf(slow), false));
    deferCleanup(() => plain.stop());

    // Enough connections that the open-loop cells never queue in the client's pool.
    const connections = Math.max(16, CONCURRENCY);
    const plainClient = httpPost(plain.url, PATH, BODY, { connections });
    const shadowedClient = httpPost(shadowed.url, PATH, BODY, { connections });
    deferCleanup(() => plainClient.close());
    deferCleanup(() => shadowedClient.close());
    const arms: Record<Arm, { gateway: GatewayProcess; send: () => Promise<void> }> = {
      none: { gateway: plain, send: plainClient.send },
      same: { gateway: shadowed, send: shadowedClient.send },
      slow: { gateway: shadowed, send: shadowedClient.send },
    };

    // Warm both gateways' paths (JIT, connections) before anything is measured or probed.
    await closedLoop(plainClient.send, { concurrency: 2, seconds: 1 });
    await closedLoop(shadowedClient.send, { concurrency: 2, seconds: 1 });
    // The shadow's delay: ten times the primary's own p50 through the gateway, at least 20 ms.
    const probe = await closedLoop(plainClient.send, { concurrency: 1, seconds: 1 });
    const delayMs = Math.max(20, Math.ceil(10 * probe.p50Ms));
    const delayOf: Record<Arm, number> = { none: 0, same: 0, slow: delayMs };
    // Copies still running from the previous arm must not overlap the next one.
    const settleMs = 3 * delayMs + 50;

    const cells: Cell[] = [
      ...RATES.map((r) => ({
        name: `open loop, ${r} req/s`,
        saturates: false,
        load: (send: () => Promise<void>) => openLoop(send, { rate: r, seconds: SECONDS }),
      })),
      ...(CONCURRENCY > 0
        ? [
            {
              name: `closed loop, concurrency ${CONCURRENCY} (saturation, context)`,
              saturates: true,
              load: (send: () => Promise<void>) =>
                closedLoop(send, { concurrency: CONCURRENCY, seconds: SECONDS }),
            },
          ]
        : []),
    ];

    const latencyRows: string[][] = [];
    const ratioRows: string[][] = [];
    const cpuRows: string[][] = [];
    // The shadowed gateway's throughput at saturation, to put the open-loop rates in proportion.
    let saturatedRate: number | undefined;
    for (const cell of cells) {
      const runs: Record<Arm, LoadResult[]> = { none: [], same: [], slow: [] };
      const cpu: Record<Arm, CpuSample> = {
        none: { gateway: 0, primary: 0, shadow: 0, bench: 0, wallMs: 0 },
        same: { gateway: 0, primary: 0, shadow: 0, bench: 0, wallMs: 0 },
        slow: { gateway: 0, primary: 0, shadow: 0, bench: 0, wallMs: 0 },
      };
      // Rotating the order each round spreads drift on the machine and order effects (warm
      // caches, a GC owed by the previous arm) over all three arms alike.
      for (let round = 0; round < ROUNDS; round++) {
        const order = ARMS.map((_, i) => ARMS[(i + round) % ARMS.length] ?? "none");
        for (const arm of order) {
          await slow.setMode({ kind: "ok", delayMs: delayOf[arm] });
          await sleep(settleMs);
          const pids = {
            gateway: arms[arm].gateway.pid,
            primary: primary.pid,
            shadow: slow.pid,
            bench: process.pid,
          };
          const before = { ...readCpu(pids), at: performance.now() };
          runs[arm].push(await cell.load(arms[arm].send));
          const after = readCpu(pids);
          const sample = cpu[arm];
          sample.gateway += after.gateway - before.gateway;
          sample.primary += after.primary - before.primary;
          sample.shadow += after.shadow - before.shadow;
          sample.bench += after.bench - before.bench;
          sample.wallMs += performance.now() - before.at;
        }
      }
      const pooled = {
        none: combine(runs.none),
        same: combine(runs.same),
        slow: combine(runs.slow),
      };
      if (cell.saturates) saturatedRate = Math.min(pooled.same.perSecond, pooled.slow.perSecond);
      latencyRows.push([
        cell.name,
        ...ARMS.map((arm) => `${rate(pooled[arm])}`),
        ...ARMS.map((arm) => `${num(pooled[arm].p50Ms)} / ${num(pooled[arm].p99Ms)}`),
      ]);
      ratioRows.push([
        cell.name,
        slowRatio(runs.slow, runs.none, 50),
        slowRatio(runs.slow, runs.none, 99),
        slowRatio(runs.slow, runs.same, 50),
        slowRatio(runs.slow, runs.same, 99),
        slowRatio(runs.same, runs.none, 99),
      ]);
      for (const arm of ARMS) {
        const c = cpu[arm];
        const n = Math.max(1, pooled[arm].requests);
        const busy = (c.gateway + c.primary + c.shadow + c.bench) / c.wallMs;
        cpuRows.push([
          `${cell.name}, ${arm}`,
          num(c.gateway / n, 3),
          num(c.primary / n, 3),
          num(c.shadow / n, 3),
          num(c.bench / n, 3),
          num(busy),
        ]);
      }
    }

    // Let the last copies finish before reading what the shadow did.
    await sleep(settleMs);
    const seen = {
      compared: await metricSum(shadowed.url, "infergate_shadow_latency_diff_seconds_count"),
      agree: await metricSum(shadowed.url, "infergate_shadow_argmax_total", 'agree="true"'),
      disagree: await metricSum(shadowed.url, "infergate_shadow_argmax_total", 'agree="false"'),
      errors: await metricSum(shadowed.url, "infergate_shadow_errors_total"),
      dropped: await metricSum(shadowed.url, "infergate_shadow_dropped_total"),
      primaryRequests: await metricSum(shadowed.url, "infergate_requests_total", 'version="1"'),
    };
    const slowCalls = await slow.calls();
    const primaryCalls = await primary.calls();

    // A diagnostic run keeps the headline result file as it is.
    writeResult(SHADOW_NICE > 0 ? "shadow-nice" : "shadow", [
      `Iris, one row per unversioned /v1 request (HTTP, keep-alive). Primary version "1" on a Triton emulator (gRPC); shadow version "2" on a second Triton emulator; each emulator in its own process, the load generator alone in the bench process, each gateway in its own process. Arms: **none** = a gateway without \`shadow\`; **same** = a gateway with \`shadow: { version: "2", percent: 100 }\` and the shadow as fast as the primary; **slow** = that gateway with the shadow delayed ${delayMs} ms per call (10 × the primary's p50 through the gateway, ${num(probe.p50Ms)} ms, at least 20 ms). ${SHADOW_NICE > 0 ? `Diagnostic: the shadow emulator runs at nice ${SHADOW_NICE}, so its CPU yields to the primary path. ` : ""}${ROUNDS} rounds of ${SECONDS} s per cell and arm, the arms' order rotating each round; samples pooled per arm.`,
      "",
      "Criterion: a shadow ten times slower leaves the client's latency unchanged. The client's latency ratios, pooled over the rounds, with a 95% interval from a paired bootstrap over rounds (the machine's noise comes in bursts that hit whole rounds):",
      "",
      ...table(
        [
          "cell",
          "p50 slow / none",
          "p99 slow / none",
          "p50 slow / same",
          "p99 slow / same",
          "p99 same / none",
        ],
        ratioRows,
      ),
      "",
      "Client latency (open loop: from each request's scheduled arrival, so queueing shows):",
      "",
      ...table(
        [
          "cell",
          "none req/s",
          "same req/s",
          "slow req/s",
          "none p50 / p99 ms",
          "same p50 / p99 ms",
          "slow p50 / p99 ms",
        ],
        latencyRows,
      ),
      "",
      "CPU per answered request, ms, per process (from /proc; 10 ms ticks, so only the larger differences mean anything), and the cores those processes kept busy during the arm (of 2; other work on the machine comes on top, see the load average):",
      "",
      ...table(
        [
          "cell, arm",
          "gateway",
          "primary emulator",
          "shadow emulator",
          "load generator",
          "cores busy",
        ],
        cpuRows,
      ),
      "",
      `What the shadowed gateway did (its /metrics after the run): ${seen.primaryRequests} primary requests (the warm-up included); ${seen.compared} shadow copies compared (argmax rows agreeing ${seen.agree} / disagreeing ${seen.disagree}), ${seen.errors} shadow errors, ${seen.dropped} copies dropped at the bound. The shadow emulator served ${slowCalls.total} calls, the primary emulator ${primaryCalls.total} (both gateways, probe and warm-up included).`,
      "",
      `Reading: the open-loop cells are the criterion (latency counts from each request's scheduled arrival, so a stalled gateway cannot hide queueing). ${saturatedRate === undefined ? "" : `The shadowed gateway carried ${num(saturatedRate, 0)} req/s at saturation in this run, so the open-loop rates (${RATES.join(", ")} req/s) are ${RATES.map((r) => `${num((100 * r) / saturatedRate, 0)}%`).join(", ")} of it. `}A ratio whose interval contains 1 is unchanged within this run's noise; the intervals' width is the machine's (other work shares the 2 cores: see the load average). **same** and **slow** run on one gateway process, so slow / same isolates the shadow's slowness; slow / none also includes what a copy costs (a second backend call per request, in the gateway and in the shadow backend). In the closed-loop cell the cores are saturated, so that cost shows as latency and throughput, as expected; copies beyond the bound are dropped, never queued on the client's path. Bias left in this harness: the shadow emulator shares the machine's 2 cores with the primary path (in production it is another server), and with a slow shadow its CPU runs at a random moment relative to the next primary request instead of right after the current one.`,
    ]);
    if (profDir !== undefined) {
      // The profile is written when the process exits.
      await shadowed.stop();
      writeResult("shadow-profile", summarizeProfiles(profDir));
    }
  },
  30 * 60_000,
);

function readCpu(pids: Record<keyof Omit<CpuSample, "wallMs">, number>): Omit<CpuSample, "wallMs"> {
  return {
    gateway: cpuMs(pids.gateway),
    primary: cpuMs(pids.primary),
    shadow: cpuMs(pids.shadow),
    bench: cpuMs(pids.bench),
  };
}

/** Resamples per interval: enough for a 95% interval's ends to settle to two decimals. */

/** "0.97 (0.90–1.05)": the ratio of `a`'s to `b`'s pooled `pct`-th percentile, with its interval. */
function slowRatio(a: readonly LoadResult[], b: readonly LoadResult[], pct: number): string {
  return formatRatio(pairedInterval(a, b, latencyPercentile(pct), (x, y) => x / y, pct));
}
