/**
 * The REST adapter's signature cache (rest.ts): the signature is fetched once however many calls
 * arrive together, kept while calls succeed, read again after the backend refuses a call (400/404:
 * the model may have changed), not after a 5xx, and a caller's abort ends its wait on a shared
 * fetch. A real HTTP front in front of the emulator counts the metadata requests.
 */
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmulatorControl } from "../../../test/emulators/control.js";
import { ModelRunner } from "../../../test/emulators/runner.js";
import { startTfServingEmulator } from "../../../test/emulators/tfserving/index.js";
import type { NamedTensor } from "../../tensor/types.js";
import type { BackendAdapter, BackendCall, TargetRef } from "../types.js";
import { createTfServingAdapter } from "./index.js";

let runner: ModelRunner;
let emulator: EmulatorControl;
let front: Server;
let frontUrl = "";
let metadataGets = 0;
/** While set, metadata answers wait until it resolves (a slow shared fetch). */
let holdMetadata: Promise<void> | undefined;

beforeAll(async () => {
  runner = await ModelRunner.load();
  emulator = await startTfServingEmulator({ runner, grpc: false });
  const upstream = new URL(emulator.restUrl ?? "");
  front = createServer((req, res) => {
    const isMetadata = req.method === "GET" && /\/metadata$/.test(req.url ?? "");
    if (isMetadata) metadataGets++;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    const forward = () => {
      const up = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      // A call the adapter abandons closes its connection: end the answer, not the test.
      up.on("error", () => res.destroy());
      up.end(Buffer.concat(chunks));
    };
    req.on("end", () => {
      if (isMetadata && holdMetadata !== undefined) void holdMetadata.then(forward);
      else forward();
    });
  });
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => front?.close(resolve));
  await emulator?.close();
  await runner?.close();
});

let adapter: BackendAdapter;
beforeEach(async () => {
  await adapter?.close();
  adapter = createTfServingAdapter("tfs", { type: "tfserving", url: frontUrl });
  metadataGets = 0;
  holdMetadata = undefined;
  emulator.setMode({ kind: "ok" });
});

const target: TargetRef = { backend: "tfs", model: "iris" };
const iris: NamedTensor = {
  name: "input",
  datatype: "FP32",
  shape: [1, 4],
  data: Float32Array.from([5.1, 3.5, 1.4, 0.2]),
};
const call = (inputs: NamedTensor[], signal = new AbortController().signal): BackendCall => ({
  inputs,
  deadline: Date.now() + 5000,
  signal,
});

describe("TF Serving REST signature cache", () => {
  it("fetches the signature once for calls arriving together and keeps it", async () => {
    await Promise.all(Array.from({ length: 5 }, () => adapter.infer(target, call([iris]))));
    expect(metadataGets).toBe(1);
    await adapter.infer(target, call([iris]));
    expect(metadataGets).toBe(1);
  });

  it("reads it again after the backend refuses a call, but not after a 5xx", async () => {
    await adapter.infer(target, call([iris]));
    emulator.setMode({ kind: "error" });
    await expect(adapter.infer(target, call([iris]))).rejects.toMatchObject({
      code: "BACKEND_ERROR",
    });
    emulator.setMode({ kind: "ok" });
    await adapter.infer(target, call([iris]));
    expect(metadataGets).toBe(1);
    // A wrongly shaped input reaches TF Serving, which answers 400: the model may have changed.
    const bad: NamedTensor = { ...iris, shape: [1, 2, 2] };
    await expect(adapter.infer(target, call([bad]))).rejects.toMatchObject({
      code: "INVALID_REQUEST",
    });
    await adapter.infer(target, call([iris]));
    expect(metadataGets).toBe(2);
  });

  it("lets a caller that gives up stop waiting for a shared fetch", async () => {
    let release = () => {};
    holdMetadata = new Promise<void>((resolve) => {
      release = resolve;
    });
    const patient = adapter.infer(target, call([iris]));
    const controller = new AbortController();
    const impatient = adapter.infer(target, call([iris], controller.signal));
    await expect.poll(() => metadataGets).toBe(1);
    controller.abort();
    await expect(impatient).rejects.toMatchObject({ code: "BACKEND_TIMEOUT" });
    release();
    const answer = await patient;
    expect(answer.outputs.map((o) => o.name).sort()).toEqual(["label", "probabilities"]);
    expect(metadataGets).toBe(1);
  });
});
