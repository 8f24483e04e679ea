/**
 * Abuse scenario, gRPC clients that never read: 200 ModelInfer calls whose 4 MB answers the
 * client never reads (HTTP/2 stream window 0), against echo_fp32 served in process, laid out as
 * one connection with 200 streams and as 200 connections with one stream each. Measures the
 * gateway's RSS (peak while the calls arrive, then with the answers held, after sendTimeoutMs and
 * after the clients disconnect) and, after a full GC forced through the inspector, its external
 * (Buffer) memory: what is still referenced. Also times one ordinary call made while the answers
 * are held. See docs/grpc.md "A client that does not read".
 *
 * Gateways: this build with the default `server.grpc` limits (also with glibc's mmap threshold
 * fixed, to show what RSS does when freed blocks go back to the OS); this build with the unread limits
 * and sendTimeoutMs set out of reach ("limits off": the cost without the guard); and with
 * BENCH_BASELINE_CLI, another build's dist/cli.js on defaults (e.g. the commit before the guard).
 *
 * Env: BENCH_ABUSE_GRPC_CALLS (default 200), BENCH_ABUSE_GRPC_ELEMENTS (FP32 elements per answer,
 * default 1,000,000 = 4 MB), BENCH_ABUSE_GRPC_CONCURRENCY (calls sent at once, default 16),
 * BENCH_BASELINE_CLI.
 */
import { performance } from "node:perf_hooks";
import { it } from "vitest";
import { inspectorArgs, memoryAfterGc, withEnv } from "../test/abuse/grpc-memory.js";
import { MODELS_DIR } from "../test/e2e/harness.js";
import { kserveClient } from "../test/e2e/kserve-client.js";
import { inferRequest, input } from "../test/support/grpc-harness.js";
import { holdAnswers, serializeInfer } from "../test/support/grpc-slow-reader.js";
import { deferCleanup } from "./cleanup.js";
import { RssSampler, startGateway } from "./gateway.js";
import { recordMemory } from "./memory.js";
import { envNumber, num, table, writeResult } from "./report.js";

const CALLS = envNumber("BENCH_ABUSE_GRPC_CALLS", 200);
const ELEMENTS = envNumber("BENCH_ABUSE_GRPC_ELEMENTS", 1_000_000);
const CONCURRENCY = envNumber("BENCH_ABUSE_GRPC_CONCURRENCY", 16);
const BASELINE_CLI = process.env.BENCH_BASELINE_CLI || undefined;
/** The default sendTimeoutMs; every gateway is measured this long (and 2 s) after the last call. */
const SEND_TIMEOUT_MS = 10_000;

interface Variant {
  name: string;
  grpcKeys: string;
  cli?: string;
  /** Environment for the gateway process on top of this one's. */
  env?: Record<string, string>;
}

const VARIANTS: Variant[] = [
  { name: "defaults", grpcKeys: "" },
  // glibc otherwise raises its mmap threshold to the 4 MB blocks it has freed and keeps later
  // ones in its heap: the RSS of a process that held them stays up after they are freed.
  {
    name: "defaults, MALLOC_MMAP_THRESHOLD_=131072",
    grpcKeys: "",
    env: { MALLOC_MMAP_THRESHOLD_: "131072" },
  },
  {
    name: "limits off",
    grpcKeys: `  grpc: { maxUnreadResponseBytes: ${2 ** 50}, maxUnreadResponseBytesTotal: ${2 ** 50}, sendTimeoutMs: 2147483647 }\n`,
  },
  ...(BASELINE_CLI === undefined
    ? []
    : [{ name: "baseline build, defaults", grpcKeys: "", cli: BASELINE_CLI }]),
];

const LAYOUTS = [
  { name: `1 connection × ${CALLS} streams`, connections: 1 },
  { name: `${CALLS} connections × 1 stream`, connections: CALLS },
];

const config = (grpcKeys: string) => `server:
  host: 127.0.0.1
  port: 0
  grpcPort: 0
${grpcKeys}backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  echo_fp32:
    versions: { "1": { backend: local } }
`;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Milliseconds one small ModelInfer takes on a fresh connection. */
async function ordinaryCallMs(address: string): Promise<number> {
  const client = kserveClient(address);
  try {
    const started = performance.now();
    await client.call("ModelInfer", {
      model_name: "echo_fp32",
      inputs: [{ name: "x", datatype: "FP32", shape: [1, 2], contents: { fp32_contents: [1, 2] } }],
    });
    return performance.now() - started;
  } finally {
    client.close();
  }
}

it("gRPC clients that never read", async () => {
  const serialized = serializeInfer(
    inferRequest({
      model_name: "echo_fp32",
      inputs: [input("x", "FP32", [1, ELEMENTS])],
      raw_input_contents: [Buffer.alloc(4 * ELEMENTS, 1)],
    }),
  );
  const rows: string[][] = [];
  const memoryRows: Array<{ phase: string; rssMb: number }> = [];
  for (const variant of VARIANTS) {
    for (const layout of LAYOUTS) {
      const label = `${variant.name}, ${layout.name}`;
      process.stderr.write(`abuse-grpc: ${label}\n`);
      const inspector = await inspectorArgs();
      const gw = await withEnv(variant.env ?? {}, () =>
        startGateway(config(variant.grpcKeys), {
          grpc: true,
          nodeArgs: inspector.args,
          ...(variant.cli === undefined ? {} : { cli: variant.cli }),
        }),
      );
      deferCleanup(() => gw.stop());
      const address = gw.grpcAddress as string;
      const memory = () => memoryAfterGc(gw, inspector.port);
      // Warm up (model session, pools) so "idle" is the gateway after such calls.
      (await holdAnswers(address, { connections: 1, calls: 1, serialized })).destroy();
      const idle = await memory();
      const sampler = new RssSampler(gw.pid);
      const started = performance.now();
      const held = await holdAnswers(address, {
        connections: layout.connections,
        calls: CALLS,
        serialized,
        concurrency: CONCURRENCY,
      });
      const sent = performance.now();
      const sentS = (sent - started) / 1000;
      const kept = held.starts.filter((s) => s.held).length;
      const refused = held.starts.filter((s) => s.grpcStatus === 8).length;
      const heldRss = gw.rssMb();
      const ordinaryMs = await ordinaryCallMs(address);
      const heldGc = await memory();
      await pause(Math.max(0, SEND_TIMEOUT_MS + 2000 - (performance.now() - sent)));
      const afterTimeout = await memory();
      const { peakMb } = sampler.stop();
      held.destroy();
      await pause(2000);
      const afterDisconnectRss = gw.rssMb();
      const afterDisconnect = await memory();
      await gw.stop();
      rows.push([
        label,
        `${kept} / ${refused}`,
        num(sentS, 1),
        num(idle.rss, 0),
        num(peakMb, 0),
        num(heldRss, 0),
        `${num(heldGc.external - idle.external, 0)}`,
        num(ordinaryMs, 0),
        `${num(afterTimeout.rss, 0)} / ${num(afterTimeout.external - idle.external, 0)}`,
        `${num(afterDisconnectRss, 0)} / ${num(afterDisconnect.external - idle.external, 0)}`,
      ]);
      memoryRows.push(
        { phase: `${label}: idle`, rssMb: idle.rss },
        { phase: `${label}: peak`, rssMb: peakMb },
        { phase: `${label}: 2 s after disconnect`, rssMb: afterDisconnectRss },
      );
    }
  }
  writeResult("abuse-grpc", [
    `${CALLS} ModelInfer calls, ${num((4 * ELEMENTS) / 1e6, 1)} MB answers (echo_fp32 in process), ${CONCURRENCY} sent at a time, stream window 0 (never read).`,
    "MiB. held/refused: calls whose answer was queued / refused with RESOURCE_EXHAUSTED. ext: V8",
    "external (Buffer) memory above idle after a forced full GC, i.e. still referenced. RSS after",
    "GC is not forced lower: glibc keeps freed blocks unless MALLOC_MMAP_THRESHOLD_ is fixed.",
    "",
    ...table(
      [
        "gateway, layout",
        "held / refused",
        "send s",
        "idle RSS",
        "peak RSS",
        "held RSS",
        "held ext",
        "other call ms",
        `at ${SEND_TIMEOUT_MS / 1000 + 2} s RSS / ext`,
        "disconnected RSS / ext",
      ],
      rows,
    ),
  ]);
  recordMemory("abuse-grpc", "echo_fp32 → onnx in process, gRPC never-reading clients", memoryRows);
});
