/**
 * Primaries that are down from the start (a model server still starting, as in a first
 * `docker compose up`): every backend type's version answers from the in-process ONNX fallback,
 * on the unified API and KServe v2 REST, until its server comes up; then the primary answers again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestGateway, type TestGateway } from "../e2e/harness.js";
import type { EmulatorControl } from "../emulators/control.js";
import { MODELS_DIR, ModelRunner } from "../emulators/runner.js";
import { startTfServingEmulator } from "../emulators/tfserving/index.js";
import { startTorchServeEmulator } from "../emulators/torchserve/index.js";
import { startTritonEmulator } from "../emulators/triton/index.js";

const IRIS_TENSORS = `inputs: [{ name: input, datatype: FP32, shape: [-1, 4] }]
        outputs: [{ name: probabilities, datatype: FP32, shape: [-1, 3] }, { name: label, datatype: INT64, shape: [-1] }]`;

/** One primary per backend type and protocol, each with the local ONNX copy as fallback. */
const PRIMARIES = [
  "triton-grpc",
  "triton-rest",
  "tfserving-rest",
  "tfserving-grpc",
  "torchserve-rest",
  "torchserve-grpc",
] as const;

let runner: ModelRunner;
const emulators = new Map<string, EmulatorControl>();
let gateway: TestGateway;

function backendBlock(name: string, emulator: EmulatorControl): string {
  const [type, protocol] = name.split("-");
  return `  ${name}: { type: ${type}, url: "${emulator.restUrl}", grpc: "${emulator.grpcAddress}", protocol: ${protocol} }`;
}

function modelBlock(name: string): string {
  const declared = name.startsWith("torchserve") ? `\n        ${IRIS_TENSORS}` : "";
  return `  ${name}:
    versions:
      "1":
        backend: ${name}
        model: iris${declared}
    fallback: [{ backend: local, model: iris, version: "1" }]`;
}

beforeAll(async () => {
  runner = await ModelRunner.load(MODELS_DIR);
  emulators.set("triton-grpc", await startTritonEmulator({ runner }));
  emulators.set("triton-rest", emulators.get("triton-grpc") as EmulatorControl);
  emulators.set("tfserving-rest", await startTfServingEmulator({ runner }));
  emulators.set("tfserving-grpc", emulators.get("tfserving-rest") as EmulatorControl);
  emulators.set("torchserve-rest", await startTorchServeEmulator({ runner }));
  emulators.set("torchserve-grpc", emulators.get("torchserve-rest") as EmulatorControl);
  // Down before the gateway ever reaches them; their ports stay reserved for the restart.
  for (const e of new Set(emulators.values())) await e.kill();
  gateway = await startTestGateway(`server: { host: 127.0.0.1, port: 0 }
backends:
${PRIMARIES.map((p) => backendBlock(p, emulators.get(p) as EmulatorControl)).join("\n")}
  local: { type: onnx, modelDir: ${MODELS_DIR} }
defaults:
  timeoutMs: 2000
  retry: { attempts: 0 }
models:
${PRIMARIES.map(modelBlock).join("\n")}
`);
});

afterAll(async () => {
  await gateway?.stop();
  for (const e of new Set(emulators.values())) await e.close();
  await runner?.close();
});

const SETOSA = { inputs: [[5.1, 3.5, 1.4, 0.2]] };

async function predict(model: string) {
  return postJson(`${gateway.url}/v1/models/${model}/predict`, SETOSA);
}

describe("a primary down from the start", () => {
  it.each(PRIMARIES)("%s: answers from the ONNX fallback on /v1", async (model) => {
    for (let i = 0; i < 3; i++) {
      const res = await predict(model);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-infergate-fallback")).toBe("true");
      expect(res.headers.get("x-infergate-backend")).toBe("local");
      expect((res.body as { outputs: { label: number[] } }).outputs.label).toEqual([0]);
    }
  });

  it.each(PRIMARIES)("%s: KServe v2 metadata and infer answer from the fallback", async (model) => {
    const meta = await fetch(`${gateway.url}/v2/models/${model}`);
    expect(meta.status).toBe(200);
    expect(((await meta.json()) as { name: string }).name).toBe(model);
    const res = await postJson(`${gateway.url}/v2/models/${model}/infer`, {
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }],
      outputs: [{ name: "label" }],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-infergate-fallback")).toBe("true");
    const outputs = (res.body as { outputs: Array<{ name: string; data: number[] }> }).outputs;
    expect(outputs.map((o) => [o.name, o.data])).toEqual([["label", [0]]]);
  });

  it("a bad request is still the client's fault, never a fallback", async () => {
    const res = await postJson(`${gateway.url}/v1/models/triton-grpc/predict`, {
      inputs: { nope: [[1, 2, 3, 4]] },
    });
    expect(res.status).toBe(400);
    expect((res.body as { error: { code: string } }).error.code).toBe("INVALID_REQUEST");
  });

  it("every primary answers again once its server is up", async () => {
    for (const e of new Set(emulators.values())) await e.restart();
    for (const model of PRIMARIES) {
      // A failed metadata fetch is remembered for a second; poll a little past that.
      let res = await predict(model);
      for (let i = 0; i < 40 && res.headers.get("x-infergate-fallback") === "true"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        res = await predict(model);
      }
      expect(res.status).toBe(200);
      expect(res.headers.get("x-infergate-fallback")).toBeNull();
      expect(res.headers.get("x-infergate-backend")).toBe(model);
      expect((res.body as { outputs: { label: number[] } }).outputs.label).toEqual([0]);
    }
  });
});
