import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorControl } from "../../../test/emulators/control.js";
import { ModelRunner } from "../../../test/emulators/runner.js";
import { startTorchServeEmulator } from "../../../test/emulators/torchserve/index.js";
import type { NamedTensor } from "../../tensor/index.js";
import type { BackendAdapter, BackendCall, TargetRef } from "../types.js";
import { createTorchServeAdapter } from "./index.js";

const TOKEN = "s3cret";
const input: NamedTensor = {
  name: "input",
  datatype: "FP32",
  shape: [1, 4],
  data: Float32Array.from([5.1, 3.5, 1.4, 0.2]),
};
const call = (extra: Partial<BackendCall> = {}): BackendCall => ({
  inputs: [input],
  deadline: Date.now() + 5000,
  signal: new AbortController().signal,
  ...extra,
});
const iris: TargetRef = {
  backend: "ts",
  model: "iris",
  inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
  outputs: [
    { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
    { name: "label", datatype: "INT64", shape: [-1] },
  ],
};

let runner: ModelRunner;
let emulator: EmulatorControl;

beforeAll(async () => {
  runner = await ModelRunner.load();
  emulator = await startTorchServeEmulator({ runner, token: TOKEN });
});
afterAll(async () => {
  await emulator.close();
  await runner.close();
});

for (const protocol of ["rest", "grpc"] as const) {
  describe(`TorchServe adapter over ${protocol}`, () => {
    const make = (token: string | undefined): BackendAdapter =>
      createTorchServeAdapter("ts", {
        type: "torchserve",
        protocol,
        ...(protocol === "rest" ? { url: emulator.restUrl } : { grpc: emulator.grpcAddress }),
        ...(token === undefined ? {} : { token }),
      });

    it("sends the token, the model version, and reports the version back", async () => {
      const adapter = make(TOKEN);
      try {
        const before = emulator.calls.length;
        const result = await adapter.infer({ ...iris, version: "1" }, call());
        expect(result.modelVersion).toBe("1");
        expect(Array.from(result.outputs[1]?.data as BigInt64Array)).toEqual([0n]);
        expect(emulator.calls.slice(before)).toMatchObject([
          { protocol, model: "iris", version: "1", batchSize: 1 },
        ]);
      } finally {
        await adapter.close();
      }
    });

    it("a wrong or missing token is BACKEND_ERROR (the gateway's fault) and unhealthy", async () => {
      for (const token of ["wrong", undefined]) {
        const adapter = make(token);
        try {
          await expect(adapter.infer(iris, call())).rejects.toMatchObject({
            code: "BACKEND_ERROR",
          });
          expect(await adapter.health()).toBe(false);
        } finally {
          await adapter.close();
        }
      }
    });

    it("an unknown version is BACKEND_ERROR", async () => {
      const adapter = make(TOKEN);
      try {
        await expect(adapter.infer({ ...iris, version: "9" }, call())).rejects.toMatchObject({
          code: "BACKEND_ERROR",
        });
      } finally {
        await adapter.close();
      }
    });

    it("URL-encodes model names, so a name cannot reach another path", async () => {
      const adapter = make(TOKEN);
      try {
        const err = await adapter
          .infer({ backend: "ts", model: "../models/iris", version: "1" }, call())
          .catch((e: unknown) => e);
        expect(err).toMatchObject({ code: "BACKEND_ERROR" });
        expect((err as Error).message).toContain("Model not found: ../models/iris");
      } finally {
        await adapter.close();
      }
    });

    it("metadata is the declared tensors, and an error naming the fix when undeclared", async () => {
      const adapter = make(TOKEN);
      try {
        const meta = await adapter.metadata({ ...iris, version: "1" });
        expect(meta).toEqual({
          name: "iris",
          versions: ["1"],
          platform: "torchserve",
          inputs: iris.inputs,
          outputs: iris.outputs,
        });
        await expect(adapter.metadata({ backend: "ts", model: "iris" })).rejects.toMatchObject({
          code: "BACKEND_ERROR",
          message: expect.stringContaining("must declare its inputs and outputs"),
        });
      } finally {
        await adapter.close();
      }
    });

    it("an aborted call is the abort's error, and the backend sees the cancellation", async () => {
      const adapter = make(TOKEN);
      emulator.setMode({ kind: "stall" });
      try {
        const before = emulator.calls.length;
        const controller = new AbortController();
        const pending = adapter.infer(iris, call({ signal: controller.signal }));
        await expect.poll(() => emulator.calls.length).toBe(before + 1);
        controller.abort();
        await expect(pending).rejects.toMatchObject({ code: "BACKEND_TIMEOUT" });
        await expect.poll(() => emulator.calls[before]?.cancelled).toBe(true);
      } finally {
        emulator.setMode({ kind: "ok" });
        await adapter.close();
      }
    });
  });
}
