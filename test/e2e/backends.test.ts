/**
 * The gateway in front of every backend type: /v1/predict, the v2 REST front and the v2 gRPC
 * front give the same numbers (within 1e-6) whichever backend computes them, and a backend stalled
 * past the model's timeout answers BACKEND_TIMEOUT in time while the backend sees the call cancelled.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorControl } from "../emulators/control.js";
import { MODELS_DIR, ModelRunner } from "../emulators/runner.js";
import { startTfServingEmulator } from "../emulators/tfserving/index.js";
import { startTorchServeEmulator } from "../emulators/torchserve/index.js";
import { startTritonEmulator } from "../emulators/triton/index.js";
import { postJson, startTestGateway, type TestGateway } from "./harness.js";
import { kserveClient } from "./kserve-client.js";

const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.4, 3.2, 4.5, 1.5],
  [6.3, 3.3, 6.0, 2.5],
];
const DECLARED =
  "inputs: [{ name: input, datatype: FP32, shape: [-1, 4] }], outputs: [{ name: probabilities, datatype: FP32, shape: [-1, 3] }, { name: label, datatype: INT64, shape: [-1] }]";

// Declared tensors override a backend's metadata; a [-1,-1] input lets a wrongly sized row through
// the gateway's own checks, so the backend is the one to reject it.
const LOOSE =
  "inputs: [{ name: input, datatype: FP32, shape: [-1, -1] }], outputs: [{ name: probabilities, datatype: FP32, shape: [-1, 3] }]";

let gw: TestGateway;
let runner: ModelRunner;
const emulators: EmulatorControl[] = [];
let triton: EmulatorControl;
const VERSIONS: Array<[string, string]> = [
  ["1", "onnx"],
  ["2", "triton gRPC"],
  ["3", "triton REST"],
  ["4", "tfserving REST"],
  ["5", "tfserving gRPC"],
  ["6", "torchserve REST"],
  ["7", "torchserve gRPC"],
];

beforeAll(async () => {
  runner = await ModelRunner.load(MODELS_DIR);
  triton = await startTritonEmulator({ runner });
  const tfs = await startTfServingEmulator({ runner });
  const torch = await startTorchServeEmulator({ runner });
  emulators.push(triton, tfs, torch);
  gw = await startTestGateway(`server: { host: 127.0.0.1, port: 0, grpcPort: 0 }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
  triton_grpc: { type: triton, grpc: "${triton.grpcAddress}" }
  triton_rest: { type: triton, url: "${triton.restUrl}", protocol: rest }
  tfs_rest: { type: tfserving, url: "${tfs.restUrl}" }
  tfs_grpc: { type: tfserving, grpc: "${tfs.grpcAddress}", protocol: grpc }
  ts_rest: { type: torchserve, url: "${torch.restUrl}" }
  ts_grpc: { type: torchserve, grpc: "${torch.grpcAddress}", protocol: grpc }
models:
  iris:
    versions:
      "1": { backend: local }
      "2": { backend: triton_grpc }
      "3": { backend: triton_rest }
      "4": { backend: tfs_rest }
      "5": { backend: tfs_grpc, signature: serving_default }
      "6": { backend: ts_rest, ${DECLARED} }
      "7": { backend: ts_grpc, ${DECLARED} }
  slow:
    versions:
      "1": { backend: triton_grpc, model: iris }
      "2": { backend: tfs_rest, model: iris }
      "3": { backend: ts_rest, model: iris, ${DECLARED} }
    default: "1"
    timeoutMs: 300
  loose:
    versions:
      "1": { backend: triton_grpc, model: iris, ${LOOSE} }
      "2": { backend: tfs_rest, model: iris, ${LOOSE} }
      "3": { backend: ts_rest, model: iris, ${LOOSE} }
`);
});
afterAll(async () => {
  await gw?.stop();
  for (const e of emulators) await e.close();
  await runner?.close();
});

async function unified(version: string): Promise<number[]> {
  const res = await postJson(`${gw.url}/v1/models/iris/versions/${version}/predict`, {
    inputs: ROWS,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.headers.get("x-infergate-version")).toBe(version);
  return (res.body as { outputs: { probabilities: number[][] } }).outputs.probabilities.flat();
}

async function v2Rest(version: string): Promise<number[]> {
  const res = await postJson(`${gw.url}/v2/models/iris/versions/${version}/infer`, {
    inputs: [{ name: "input", datatype: "FP32", shape: [3, 4], data: ROWS.flat() }],
    outputs: [{ name: "probabilities" }],
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body as { outputs: Array<{ data: number[] }> }).outputs[0]?.data ?? [];
}

async function v2Grpc(version: string): Promise<number[]> {
  const client = kserveClient(gw.grpcAddress);
  try {
    const res = await client.call("ModelInfer", {
      model_name: "iris",
      model_version: version,
      inputs: [
        {
          name: "input",
          datatype: "FP32",
          shape: [3, 4],
          contents: { fp32_contents: ROWS.flat() },
        },
      ],
      outputs: [{ name: "probabilities" }],
    });
    // The gateway answers raw whatever the request used, as Triton does.
    const raw = Buffer.from((res.raw_output_contents as Uint8Array[])[0] ?? []);
    return Array.from({ length: raw.length / 4 }, (_, i) => raw.readFloatLE(i * 4));
  } finally {
    client.close();
  }
}

describe("every backend type behind the gateway", () => {
  it("gives the in-process ONNX numbers through /v1/predict, v2 REST and v2 gRPC", async () => {
    const reference = await unified("1");
    expect(reference).toHaveLength(9);
    for (const [version, name] of VERSIONS) {
      for (const [front, fn] of [
        ["/v1/predict", unified],
        ["v2 REST", v2Rest],
        ["v2 gRPC", v2Grpc],
      ] as const) {
        const got = await fn(version);
        expect(got, `${name} via ${front}`).toHaveLength(9);
        got.forEach((v, i) => {
          expect(
            Math.abs(v - (reference[i] ?? Number.NaN)),
            `${name} via ${front} [${i}]`,
          ).toBeLessThanOrEqual(1e-6);
        });
      }
    }
  });

  it("answers BACKEND_TIMEOUT within timeout + 50 ms when a backend stalls, and the backend sees the call cancelled", async () => {
    for (const [index, version] of ["1", "2", "3"].entries()) {
      const emulator = emulators[index]!;
      emulator.setMode({ kind: "stall" });
      try {
        const before = emulator.calls.length;
        const started = Date.now();
        const res = await postJson(`${gw.url}/v1/models/slow/versions/${version}/predict`, {
          inputs: [ROWS[0]],
        });
        const elapsed = Date.now() - started;
        expect(res.status).toBe(504);
        expect((res.body as { error: { code: string } }).error.code).toBe("BACKEND_TIMEOUT");
        expect(elapsed).toBeLessThanOrEqual(350);
        await expect
          .poll(() => emulator.calls.slice(before).some((c) => c.cancelled === true), {
            timeout: 3000,
          })
          .toBe(true);
      } finally {
        emulator.setMode({ kind: "ok" });
      }
    }
  });

  it("passes a backend's bad-input answer on as INVALID_REQUEST with the backend's message", async () => {
    for (const version of ["1", "2", "3"]) {
      const res = await postJson(`${gw.url}/v1/models/loose/versions/${version}/predict`, {
        inputs: [[1, 2, 3]],
      });
      expect(res.status, `loose v${version}`).toBe(400);
      const error = (res.body as { error: { code: string; message: string } }).error;
      expect(error.code).toBe("INVALID_REQUEST");
      expect(error.message.length).toBeGreaterThan(5);
    }
  });
});
