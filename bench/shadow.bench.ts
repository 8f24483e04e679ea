/**
 * Shadow traffic must not touch the client (issue 6): iris version "1" on one Triton emulator
 * (gRPC) is the primary; version "2" on another Triton emulator answers ten times slower
 * (`delayMs`, at least 20 ms). Two gateway processes on the same backends, one with
 * `shadow: { version: "2", percent: 100 }` and one without, are measured alternately in the same
 * run (closed loop, unversioned /v1 requests); the result is the client's p50/p99 ratio
 * shadowed / unshadowed. The shadowed gateway's /metrics and the slow emulator's call count show
 * the copies really ran (or were dropped at the bound).
 *
 * The emulators share this process with the load generator, so the shadow's inference work here
 * (the slow emulator still runs onnxruntime) counts against the shadowed cells: a conservative
 * bias, noted with the result.
 *
 * Beside the closed-loop cells (the machine saturated, so any extra CPU shows as latency), an
 * open-loop cell at a modest rate shows the client's latency while the cores have headroom. CPU
 * per request of the gateway and of this process (emulators + load generator) says where the
 * copies' cost went.
 *
 * Env: BENCH_SHADOW_SECONDS (default 3 per cell and round), BENCH_SHADOW_ROUNDS (default 3),
 * BENCH_SHADOW_CONCURRENCY (comma list, default "1,8"), BENCH_SHADOW_RATE (open loop req/s,
 * default 200; 0 skips it), BENCH_CPU_PROF=1 (profile the shadowed gateway: shadow-profile.md).
 */
import { it } from "vitest";
import { MODELS_DIR, ModelRunner } from "../test/emulators/runner.js";
import { startTritonEmulator } from "../test/emulators/triton/index.js";
import { deferCleanup } from "./cleanup.js";
import { type BenchClient, httpPost } from "./clients.js";
import { cpuMs, startGateway } from "./gateway.js";
import { closedLoop, combine, type LoadResult, openLoop } from "./load.js";
import { metricSum } from "./metrics.js";
import { cpuProfDir, summarizeProfiles } from "./profile.js";
import { envNumber, num, rate, table, writeResult } from "./report.js";

const SECONDS = envNumber("BENCH_SHADOW_SECONDS", 3);
const ROUNDS = envNumber("BENCH_SHADOW_ROUNDS", 3);
const CONCURRENCY = (process.env.BENCH_SHADOW_CONCURRENCY ?? "1,8")
  .split(",")
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
const RATE = process.env.BENCH_SHADOW_RATE === "0" ? 0 : envNumber("BENCH_SHADOW_RATE", 200);
type Side = "shadowed" | "plain";
const BODY = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });

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

it(
  "client latency with a ten-times-slower shadow vs without",
  async () => {
    const runner = await ModelRunner.load(MODELS_DIR);
    const primary = await startTritonEmulator({ runner, rest: false });
    const slow = await startTritonEmulator({ runner, rest: false });
    deferCleanup(() => primary.close());
    deferCleanup(() => slow.close());
    const primaryAddress = primary.grpcAddress;
    const slowAddress = slow.grpcAddress;
    if (primaryAddress === undefined || slowAddress === undefined) {
      throw new Error("the Triton emulators did not open gRPC");
    }
    const profDir = cpuProfDir();
    const shadowed = await startGateway(
      config(primaryAddress, slowAddress, true),
      profDir === undefined ? {} : { cpuProfDir: profDir },
    );
    deferCleanup(() => shadowed.stop());
    const plain = await startGateway(config(primaryAddress, slowAddress, false));
    deferCleanup(() => plain.stop());

    const maxConcurrency = Math.max(...CONCURRENCY);
    const path = "/v1/models/iris/predict";
    const clients = {
      shadowed: httpPost(shadowed.url, path, BODY, { connections: maxConcurrency }),
      plain: httpPost(plain.url, path, BODY, { connections: maxConcurrency }),
    };
    deferCleanup(() => clients.shadowed.close());
    deferCleanup(() => clients.plain.close());

    // The shadow's delay: ten times the primary's own p50 through the gateway, at least 20 ms.
    const probe = await closedLoop(clients.plain.send, { concurrency: 1, seconds: 1 });
    const delayMs = Math.max(20, Math.ceil(10 * probe.p50Ms));
    slow.setMode({ kind: "ok", delayMs });

    const cells: Array<{ name: string; load: (send: () => Promise<void>) => Promise<LoadResult> }> =
      [
        ...CONCURRENCY.map((concurrency) => ({
          name: `closed loop, concurrency ${concurrency}`,
          load: (send: () => Promise<void>) => closedLoop(send, { concurrency, seconds: SECONDS }),
        })),
        ...(RATE > 0
          ? [
              {
                name: `open loop, ${RATE} req/s`,
                load: (send: () => Promise<void>) =>
                  openLoop(send, { rate: RATE, seconds: SECONDS }),
              },
            ]
          : []),
      ];
    const gateways = { shadowed, plain };
    const rows: string[][] = [];
    const cpuRows: string[][] = [];
    for (const cell of cells) {
      const runs: Record<Side, LoadResult[]> = { shadowed: [], plain: [] };
      const cpu: Record<Side, { gateway: number; bench: number }> = {
        shadowed: { gateway: 0, bench: 0 },
        plain: { gateway: 0, bench: 0 },
      };
      // Alternating cells, so drift on the machine hits both sides alike; each side goes first
      // every other round, so order effects (warm caches, GC) even out.
      for (let round = 0; round < ROUNDS; round++) {
        const order: Side[] = round % 2 === 0 ? ["plain", "shadowed"] : ["shadowed", "plain"];
        for (const side of order) {
          const client: BenchClient = clients[side];
          const gatewayBefore = cpuMs(gateways[side].pid);
          const benchBefore = cpuMs(process.pid);
          runs[side].push(await cell.load(client.send));
          cpu[side].gateway += cpuMs(gateways[side].pid) - gatewayBefore;
          cpu[side].bench += cpuMs(process.pid) - benchBefore;
        }
      }
      const s = combine(runs.shadowed);
      const p = combine(runs.plain);
      rows.push([
        cell.name,
        rate(p),
        rate(s),
        `${num(p.p50Ms)} / ${num(p.p99Ms)}`,
        `${num(s.p50Ms)} / ${num(s.p99Ms)}`,
        num(s.p50Ms / p.p50Ms),
        num(s.p99Ms / p.p99Ms),
      ]);
      // CPU ms per answered request; the bench process also includes the load warm-up.
      const per = (ms: number, r: LoadResult) => num(ms / Math.max(1, r.requests), 3);
      cpuRows.push([
        cell.name,
        per(cpu.plain.gateway, p),
        per(cpu.shadowed.gateway, s),
        per(cpu.plain.bench, p),
        per(cpu.shadowed.bench, s),
      ]);
    }

    // Let the last copies finish before reading what the shadow did.
    await new Promise((resolve) => setTimeout(resolve, delayMs * 5));
    const seen = {
      compared: await metricSum(shadowed.url, "infergate_shadow_latency_diff_seconds_count"),
      latencyDiffSum: await metricSum(shadowed.url, "infergate_shadow_latency_diff_seconds_sum"),
      maxDiffSum: await metricSum(shadowed.url, "infergate_shadow_max_abs_diff_sum"),
      agree: await metricSum(shadowed.url, "infergate_shadow_argmax_total", 'agree="true"'),
      disagree: await metricSum(shadowed.url, "infergate_shadow_argmax_total", 'agree="false"'),
      errors: await metricSum(shadowed.url, "infergate_shadow_errors_total"),
      dropped: await metricSum(shadowed.url, "infergate_shadow_dropped_total"),
      primaryRequests: await metricSum(shadowed.url, "infergate_requests_total", 'version="1"'),
    };
    const slowCalls = slow.calls.length;

    writeResult("shadow", [
      `Iris, one row per unversioned /v1 request, primary version "1" on a Triton emulator (gRPC); version "2" on a second Triton emulator delayed ${delayMs} ms per call (10 × the primary's p50 through the gateway, ${num(probe.p50Ms)} ms, at least 20 ms). Gateway A: \`shadow: { version: "2", percent: 100 }\`; gateway B: the same config without it. ${ROUNDS} alternating rounds of ${SECONDS} s per cell, pooled.`,
      "",
      ...table(
        [
          "cell",
          "unshadowed req/s",
          "shadowed req/s",
          "unshadowed p50 / p99 ms",
          "shadowed p50 / p99 ms",
          "p50 ratio (shadowed / unshadowed)",
          "p99 ratio",
        ],
        rows,
      ),
      "",
      "CPU per answered request, ms (from /proc; 10 ms ticks, so only the larger differences mean anything):",
      "",
      ...table(
        [
          "cell",
          "gateway, unshadowed",
          "gateway, shadowed",
          "bench process, unshadowed",
          "bench process, shadowed",
        ],
        cpuRows,
      ),
      "",
      `What the shadowed gateway did (its /metrics after the run): ${seen.primaryRequests} primary requests; ${seen.compared} shadow copies compared (mean shadow − primary latency ${num(seen.compared > 0 ? (seen.latencyDiffSum / seen.compared) * 1000 : Number.NaN)} ms, summed max abs diff ${num(seen.maxDiffSum, 6)}, argmax rows agreeing ${seen.agree} / disagreeing ${seen.disagree}), ${seen.errors} shadow errors, ${seen.dropped} copies dropped at the bound. The slow emulator served ${slowCalls} calls.`,
      "",
      seen.compared + seen.errors + seen.dropped === 0
        ? "No shadow copy was made: this gateway build does not wire `shadow` yet, so both columns measure the same path (the ratios show the noise floor)."
        : "Reading: a copy starts only after the primary's answer has been handed back, and the client never waits for it. The open-loop row shows the client's latency while the cores have CPU to spare. In the closed-loop rows the cores are saturated (two gateways, both emulators and the load generator share them, with whatever else runs on the machine), so the copies' CPU competes with the primary path: in the gateway, a second backend call per request; in this process, the slow emulator's inference, which shares one event loop with the primary emulator and the load generator and so weighs on the shadowed cells only (a bias of this harness, not of the gateway). The CPU table shows where each copy's cost went.",
    ]);
    if (profDir !== undefined) {
      // The profile is written when the process exits.
      await shadowed.stop();
      writeResult("shadow-profile", summarizeProfiles(profDir));
    }
  },
  15 * 60_000,
);
