/**
 * Benchmark: requests/second and p50/p99 for the iris model through the gateway vs directly
 * against each backend emulator, REST and gRPC, in one run. "Direct" uses the gateway's own
 * adapter in this process as the protocol client (so it is the backend's wire protocol and the
 * emulator's cost alone); "gateway" is a unified /v1 REST call to a gateway process that calls the
 * same emulator. Emulators and the load generator share this process; the gateway runs in its own.
 *
 * Run: `npm run bench` (writes bench/results/backends.md).
 */
import { cpus } from "node:os";
import { Pool } from "undici";
import { it } from "vitest";
import { createAdapter } from "../src/backends/factory.js";
import type { BackendAdapter } from "../src/backends/types.js";
import type { BackendConfig } from "../src/config/schema.js";
import { MODELS_DIR, ModelRunner } from "../test/emulators/runner.js";
import { startTfServingEmulator } from "../test/emulators/tfserving/index.js";
import { startTorchServeEmulator } from "../test/emulators/torchserve/index.js";
import { startTritonEmulator } from "../test/emulators/triton/index.js";
import { deferCleanup } from "./cleanup.js";
import { startGateway } from "./gateway.js";
import { closedLoop, type LoadResult } from "./load.js";
import { envNumber, writeResult } from "./report.js";

const SECONDS = envNumber("BENCH_SECONDS", 3);
const CONCURRENCY = envNumber("BENCH_CONCURRENCY", 16);
const ROW = [5.1, 3.5, 1.4, 0.2];
const IRIS_DECLARED = `inputs: [{ name: input, datatype: FP32, shape: [-1, 4] }], outputs: [{ name: probabilities, datatype: FP32, shape: [-1, 3] }, { name: label, datatype: INT64, shape: [-1] }]`;

it(
  "gateway vs direct, per backend and protocol",
  async () => {
    const runner = await ModelRunner.load(MODELS_DIR);
    const triton = await startTritonEmulator({ runner });
    const tfs = await startTfServingEmulator({ runner });
    const torch = await startTorchServeEmulator({ runner });
    deferCleanup(() => triton.close());
    deferCleanup(() => tfs.close());
    deferCleanup(() => torch.close());

    const subjects: Array<{
      name: string;
      version: string;
      backend: BackendConfig;
      declare?: boolean;
    }> = [
      { name: "onnx (in process)", version: "1", backend: { type: "onnx", modelDir: MODELS_DIR } },
      {
        name: "triton gRPC",
        version: "2",
        backend: { type: "triton", grpc: triton.grpcAddress!, protocol: "grpc" },
      },
      {
        name: "triton REST",
        version: "3",
        backend: { type: "triton", url: triton.restUrl!, protocol: "rest" },
      },
      {
        name: "tfserving REST",
        version: "4",
        backend: { type: "tfserving", url: tfs.restUrl!, protocol: "rest" },
      },
      {
        name: "tfserving gRPC",
        version: "5",
        backend: { type: "tfserving", grpc: tfs.grpcAddress!, protocol: "grpc" },
      },
      {
        name: "torchserve REST",
        version: "6",
        backend: { type: "torchserve", url: torch.restUrl!, protocol: "rest" },
        declare: true,
      },
      {
        name: "torchserve gRPC",
        version: "7",
        backend: { type: "torchserve", grpc: torch.grpcAddress!, protocol: "grpc" },
        declare: true,
      },
    ];
    const config = `server: { host: 127.0.0.1, port: 0 }
backends:
${subjects.map((s) => `  b${s.version}: ${JSON.stringify(s.backend)}`).join("\n")}
defaults: { timeoutMs: 5000 }
models:
  iris:
    versions:
${subjects.map((s) => `      "${s.version}": { backend: b${s.version}, model: iris${s.declare ? `, ${IRIS_DECLARED}` : ""} }`).join("\n")}
`;
    const gateway = await startGateway(config);
    deferCleanup(() => gateway.stop());
    const pool = new Pool(gateway.url, { connections: CONCURRENCY, pipelining: 1 });
    deferCleanup(() => pool.close());

    const rows: string[] = [];
    for (const s of subjects) {
      const adapter: BackendAdapter = await createAdapter(`b${s.version}`, s.backend);
      deferCleanup(() => adapter.close());
      const target = {
        backend: `b${s.version}`,
        model: "iris",
        ...(s.declare
          ? {
              inputs: [{ name: "input", datatype: "FP32" as const, shape: [-1, 4] }],
              outputs: [
                { name: "probabilities", datatype: "FP32" as const, shape: [-1, 3] },
                { name: "label", datatype: "INT64" as const, shape: [-1] },
              ],
            }
          : {}),
      };
      const direct = () =>
        adapter.infer(target, {
          inputs: [
            { name: "input", datatype: "FP32", shape: [1, 4], data: Float32Array.from(ROW) },
          ],
          deadline: Date.now() + 5000,
          signal: new AbortController().signal,
        });
      const body = JSON.stringify({ inputs: [ROW] });
      const viaGateway = async () => {
        const res = await pool.request({
          method: "POST",
          path: `/v1/models/iris/versions/${s.version}/predict`,
          headers: { "content-type": "application/json" },
          body,
        });
        await res.body.text();
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      };
      const d =
        s.backend.type === "onnx"
          ? undefined
          : await closedLoop(direct, { concurrency: CONCURRENCY, seconds: SECONDS });
      const g = await closedLoop(viaGateway, { concurrency: CONCURRENCY, seconds: SECONDS });
      rows.push(row(s.name, d, g));
    }

    writeResult("backends", [
      `Iris, one row per request, closed loop with ${CONCURRENCY} concurrent clients, ${SECONDS} s per cell, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}.`,
      "",
      "| backend / protocol | direct req/s | direct p50 / p99 ms | gateway req/s | gateway p50 / p99 ms | gateway / direct throughput | added p50 ms |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...rows,
    ]);
  },
  15 * 60_000,
);

function row(name: string, d: LoadResult | undefined, g: LoadResult): string {
  const f = (n: number, digits = 2) => n.toFixed(digits);
  const errors = (r: LoadResult) => (r.errors > 0 ? ` (${r.errors} errors)` : "");
  if (d === undefined) {
    return `| ${name} | — | — | ${f(g.perSecond, 0)}${errors(g)} | ${f(g.p50Ms)} / ${f(g.p99Ms)} | — | — |`;
  }
  return `| ${name} | ${f(d.perSecond, 0)}${errors(d)} | ${f(d.p50Ms)} / ${f(d.p99Ms)} | ${f(g.perSecond, 0)}${errors(g)} | ${f(g.p50Ms)} / ${f(g.p99Ms)} | ${f(g.perSecond / d.perSecond)} | ${f(g.p50Ms - d.p50Ms)} |`;
}
