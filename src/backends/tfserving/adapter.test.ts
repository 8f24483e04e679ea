import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorControl } from "../../../test/emulators/control.js";
import { ModelRunner } from "../../../test/emulators/runner.js";
import { startTfServingEmulator } from "../../../test/emulators/tfserving/index.js";
import type { NamedTensor } from "../../tensor/types.js";
import type { BackendAdapter, BackendCall, TargetRef } from "../types.js";
import { createTfServingAdapter } from "./index.js";

let runner: ModelRunner;
let emulator: EmulatorControl;
let contentEmulator: EmulatorControl;
let rest: BackendAdapter;
let grpc: BackendAdapter;
let grpcContent: BackendAdapter;

beforeAll(async () => {
  runner = await ModelRunner.load();
  const labels = { iris: { stable: "1" } };
  emulator = await startTfServingEmulator({ runner, labels });
  contentEmulator = await startTfServingEmulator({ runner, rest: false, tensorContent: true });
  rest = createTfServingAdapter("tfs", { type: "tfserving", url: emulator.restUrl });
  grpc = createTfServingAdapter("tfs", { type: "tfserving", grpc: emulator.grpcAddress });
  grpcContent = createTfServingAdapter("tfs", {
    type: "tfserving",
    grpc: contentEmulator.grpcAddress,
  });
});

afterAll(async () => {
  await Promise.all([rest, grpc, grpcContent].map((a) => a?.close()));
  await emulator?.close();
  await contentEmulator?.close();
  await runner?.close();
});

const call = (inputs: NamedTensor[], outputs?: string[]): BackendCall => ({
  inputs,
  ...(outputs === undefined ? {} : { outputs }),
  deadline: Date.now() + 5000,
  signal: new AbortController().signal,
});
const target = (model: string, extra: Partial<TargetRef> = {}): TargetRef => ({
  backend: "tfs",
  model,
  ...extra,
});
const iris: NamedTensor = {
  name: "input",
  datatype: "FP32",
  shape: [1, 4],
  data: Float32Array.from([5.1, 3.5, 1.4, 0.2]),
};

describe("TF Serving adapter", () => {
  it("picks REST when a url is configured and gRPC when told", () => {
    expect(rest.constructor.name).toBe("TfServingRestAdapter");
    expect(grpc.constructor.name).toBe("TfServingGrpcAdapter");
    expect(() => createTfServingAdapter("x", { type: "tfserving", protocol: "grpc" })).toThrow(
      /grpc/,
    );
  });

  it.each([
    ["REST", () => rest],
    ["gRPC", () => grpc],
  ])(
    "%s: a version label addresses the labelled version; an unknown label is refused",
    async (_, adapter) => {
      const res = await adapter().infer(
        target("iris", { version: "stable" }),
        call([iris], ["label"]),
      );
      expect(Array.from(res.outputs[0]?.data as BigInt64Array)).toEqual([0n]);
      expect(await adapter().ready(target("iris", { version: "stable" }))).toBe(true);
      await expect(
        adapter().infer(target("iris", { version: "canary" }), call([iris])),
      ).rejects.toMatchObject({ code: "INVALID_REQUEST" });
    },
  );

  it("gRPC reports the version that computed the answer", async () => {
    const res = await grpc.infer(target("iris"), call([iris]));
    expect(res.modelVersion).toBe("1");
  });

  it("gRPC reads answers sent as tensor_content as well as *_val", async () => {
    const x: NamedTensor = {
      name: "x",
      datatype: "INT64",
      shape: [1, 2],
      data: BigInt64Array.from([2n ** 63n - 1n, -5n]),
    };
    const [a, b] = await Promise.all([
      grpc.infer(target("echo_int64"), call([x])),
      grpcContent.infer(target("echo_int64"), call([x])),
    ]);
    expect(Array.from(a.outputs[0]?.data as BigInt64Array)).toEqual([2n ** 63n - 1n, -5n]);
    expect(Array.from(b.outputs[0]?.data as BigInt64Array)).toEqual([2n ** 63n - 1n, -5n]);
  });

  it("REST carries NaN and infinities both ways", async () => {
    const x: NamedTensor = {
      name: "x",
      datatype: "FP32",
      shape: [1, 3],
      data: Float32Array.from([Number.NaN, Infinity, -Infinity]),
    };
    const res = await rest.infer(target("echo_fp32"), call([x]));
    expect(Array.from(res.outputs[0]?.data as Float32Array)).toEqual([
      Number.NaN,
      Infinity,
      -Infinity,
    ]);
  });

  it("REST refuses FP16, which TF Serving's JSON cannot carry, with the backend's answer", async () => {
    const x: NamedTensor = {
      name: "x",
      datatype: "FP16",
      shape: [1, 1],
      data: Uint16Array.from([0x3c00]),
    };
    await expect(rest.infer(target("echo_fp16"), call([x]))).rejects.toMatchObject({
      code: "BACKEND_ERROR",
      message: expect.stringContaining("to type: half"),
    });
  });

  it.each([
    ["REST", () => rest],
    ["gRPC", () => grpc],
  ])("%s: an unknown requested output is INVALID_REQUEST", async (_, adapter) => {
    await expect(adapter().infer(target("iris"), call([iris], ["nope"]))).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
  });

  it.each([
    ["REST", () => rest],
    ["gRPC", () => grpc],
  ])("%s: an unknown signature is reported", async (_, adapter) => {
    await expect(adapter().metadata(target("iris", { signature: "other" }))).rejects.toMatchObject({
      code: "BACKEND_ERROR",
      message: expect.stringContaining("other"),
    });
  });

  it("metadata reports the version served and TF Serving's platform", async () => {
    for (const adapter of [rest, grpc]) {
      const meta = await adapter.metadata(target("ops"));
      expect(meta).toMatchObject({ name: "ops", versions: ["1"], platform: "tensorflow" });
      expect(meta.inputs.map((i) => i.name)).toEqual(["a", "b"]);
    }
  });
});
