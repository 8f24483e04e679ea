/**
 * Hostile or broken backends (test/emulators/hostile.ts) behind a real gateway: an answer past
 * the backend's response cap, a body that trickles, an answer with a great many outputs or
 * duplicate names, an HTML error page. Each must end as a clear error within the model's deadline
 * (1 s here) without the gateway buffering the answer, and count against the target's breaker.
 * Full sizes are measured in bench/abuse-backend.bench.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestGateway, type TestGateway } from "../e2e/harness.js";
import type { EmulatorControl } from "../emulators/control.js";
import { MODELS_DIR, ModelRunner } from "../emulators/runner.js";
import { startTfServingEmulator } from "../emulators/tfserving/index.js";
import { startTorchServeEmulator } from "../emulators/torchserve/index.js";
import { startTritonEmulator } from "../emulators/triton/index.js";

const MiB = 1024 * 1024;
/** Generous bound for answers that take milliseconds, so a loaded CI box does not flake. */
const PROMPT_MS = 2500;
const ROWS = [[5.1, 3.5, 1.4, 0.2]];
const DECLARED =
  "inputs: [{ name: input, datatype: FP32, shape: [-1, 4] }], outputs: [{ name: probabilities, datatype: FP32, shape: [-1, 3] }, { name: label, datatype: INT64, shape: [-1] }]";

let gw: TestGateway;
let runner: ModelRunner;
let triton: EmulatorControl;
let tfs: EmulatorControl;
let torch: EmulatorControl;

beforeAll(async () => {
  runner = await ModelRunner.load(MODELS_DIR);
  triton = await startTritonEmulator({ runner });
  tfs = await startTfServingEmulator({ runner, grpc: false });
  torch = await startTorchServeEmulator({ runner, grpc: false });
  // bodyLimitBytes 2 MiB: the backends' default response cap is 4 × that, 8 MiB.
  gw =
    await startTestGateway(`server: { host: 127.0.0.1, port: 0, grpcPort: 0, bodyLimitBytes: ${2 * MiB} }
backends:
  triton_rest: { type: triton, url: "${triton.restUrl}", protocol: rest }
  triton_grpc: { type: triton, grpc: "${triton.grpcAddress}" }
  tfs_rest: { type: tfserving, url: "${tfs.restUrl}" }
  ts_rest: { type: torchserve, url: "${torch.restUrl}" }
models:
  iris:
    timeoutMs: 1000
    retry: { attempts: 0 }
    versions:
      "1": { backend: triton_rest }
      "2": { backend: triton_grpc }
      "3": { backend: tfs_rest }
      "4": { backend: ts_rest, ${DECLARED} }
  guarded:
    timeoutMs: 1000
    retry: { attempts: 0 }
    breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 60000 }
    versions:
      "1": { backend: triton_rest, model: iris }
`);
});

afterEach(() => {
  for (const e of [triton, tfs, torch]) e?.setMode({ kind: "ok" });
});

afterAll(async () => {
  await gw?.stop();
  for (const e of [triton, tfs, torch]) await e?.close();
  await runner?.close();
});

interface Outcome {
  status: number;
  code: string | undefined;
  message: string;
  ms: number;
  rssGrowthMb: number;
}

async function predict(model: string, version: string): Promise<Outcome> {
  const rss = process.memoryUsage().rss;
  const started = performance.now();
  const res = await postJson(`${gw.url}/v1/models/${model}/versions/${version}/predict`, {
    inputs: ROWS,
  });
  const ms = performance.now() - started;
  const rssGrowthMb = (process.memoryUsage().rss - rss) / MiB;
  const error = (res.body as { error?: { code?: string; message?: string } }).error;
  return { status: res.status, code: error?.code, message: error?.message ?? "", ms, rssGrowthMb };
}

describe("a backend streaming an answer past its response cap", () => {
  it.each([
    ["chunked", false],
    ["with its length announced", true],
  ])(
    "60 MB %s over REST is a 502 within the deadline, read no further than the cap",
    async (_name, announceLength) => {
      triton.setMode({
        kind: "ok",
        hostile: { kind: "hugeBody", bytes: 60 * MiB, announceLength },
      });
      const got = await predict("iris", "1");
      expect(got).toMatchObject({ status: 502, code: "BACKEND_ERROR" });
      expect(got.message).toMatch(/exceeds 8388608 bytes/);
      expect(got.ms).toBeLessThan(PROMPT_MS);
      expect(got.rssGrowthMb).toBeLessThan(50);
    },
  );

  it("over gRPC is refused by its length prefix: 502", async () => {
    triton.setMode({ kind: "ok", hostile: { kind: "hugeBody", bytes: 12 * MiB } });
    const got = await predict("iris", "2");
    expect(got).toMatchObject({ status: 502, code: "BACKEND_ERROR" });
    expect(got.message).toMatch(/maxResponseBytes/);
  });

  it("still serves a normal answer afterwards", async () => {
    const res = await postJson(`${gw.url}/v1/models/iris/versions/1/predict`, { inputs: ROWS });
    expect(res.status).toBe(200);
  });
});

describe("a backend that trickles its answer", () => {
  it("is cut at the model's deadline: 504", async () => {
    triton.setMode({ kind: "ok", hostile: { kind: "slowDrip", intervalMs: 50 } });
    const got = await predict("iris", "1");
    expect(got).toMatchObject({ status: 504, code: "BACKEND_TIMEOUT" });
    expect(got.ms).toBeGreaterThanOrEqual(900);
    expect(got.ms).toBeLessThan(1000 + PROMPT_MS);
  });
});

describe("an answer with a great many outputs", () => {
  it("1 M outputs over REST is a 502 within the deadline and small memory", async () => {
    triton.setMode({ kind: "ok", hostile: { kind: "manyOutputs", count: 1_000_000 } });
    const got = await predict("iris", "1");
    expect(got).toMatchObject({ status: 502, code: "BACKEND_ERROR" });
    expect(got.ms).toBeLessThan(PROMPT_MS);
    expect(got.rssGrowthMb).toBeLessThan(50);
  });

  it("1 M outputs over gRPC (23 MB) is past the cap: 502", async () => {
    triton.setMode({ kind: "ok", hostile: { kind: "manyOutputs", count: 1_000_000 } });
    const got = await predict("iris", "2");
    expect(got).toMatchObject({ status: 502, code: "BACKEND_ERROR" });
    expect(got.message).toMatch(/maxResponseBytes/);
  });

  it("300 k outputs over gRPC (7 MB, within the cap) are refused before decoding: 502", async () => {
    triton.setMode({ kind: "ok", hostile: { kind: "manyOutputs", count: 300_000 } });
    const got = await predict("iris", "2");
    expect(got).toMatchObject({ status: 502, code: "BACKEND_ERROR" });
    expect(got.message).toMatch(/more than 1024 outputs/);
    expect(got.ms).toBeLessThan(PROMPT_MS);
  });

  it.each([
    ["Triton REST", "1", () => triton],
    ["TF Serving REST", "3", () => tfs],
    ["TorchServe REST", "4", () => torch],
  ])(
    "%s: 100 k outputs within the cap are refused before parsing: 502",
    async (_n, version, emulator) => {
      emulator().setMode({ kind: "ok", hostile: { kind: "manyOutputs", count: 100_000 } });
      const got = await predict("iris", version);
      expect(got).toMatchObject({ status: 502, code: "BACKEND_ERROR" });
      expect(got.message).toMatch(/more than 16384 objects and keys/);
      expect(got.ms).toBeLessThan(PROMPT_MS);
      expect(got.rssGrowthMb).toBeLessThan(50);
    },
  );

  it.each([
    ["Triton REST", "1", () => triton],
    ["TorchServe REST", "4", () => torch],
  ])(
    "%s: 1500 outputs, few enough to parse, are more than any model has: 502",
    async (_n, version, emulator) => {
      emulator().setMode({ kind: "ok", hostile: { kind: "manyOutputs", count: 1500 } });
      const got = await predict("iris", version);
      expect(got).toMatchObject({ status: 502, code: "BACKEND_ERROR" });
      expect(got.message).toMatch(/output/);
    },
  );

  it("duplicate output names over REST and gRPC: 502 naming the output", async () => {
    triton.setMode({
      kind: "ok",
      hostile: { kind: "manyOutputs", count: 2, duplicateNames: true },
    });
    for (const version of ["1", "2"]) {
      const got = await predict("iris", version);
      expect(got).toMatchObject({ status: 502, code: "BACKEND_ERROR" });
      expect(got.message).toMatch(/output "out" twice/);
    }
  });
});

describe("a backend's HTML error page", () => {
  it("is summarised, not passed on", async () => {
    triton.setMode({ kind: "ok", hostile: { kind: "htmlError" } });
    const got = await predict("iris", "1");
    expect(got).toMatchObject({ status: 502, code: "BACKEND_ERROR" });
    expect(got.message).toMatch(/^backend "triton_rest" answered 500 \(text\/html, 5 KB\)$/);
    expect(got.message).not.toMatch(/</);
  });

  it("of a 400 is summarised for the client too", async () => {
    torch.setMode({ kind: "ok", hostile: { kind: "htmlError", status: 400 } });
    const got = await predict("iris", "4");
    expect(got).toMatchObject({ status: 400, code: "INVALID_REQUEST" });
    expect(got.message).toBe("backend answered 400 (text/html, 5 KB)");
  });
});

describe("bad answers count against the target", () => {
  it("opens the breaker like other backend errors", async () => {
    triton.setMode({
      kind: "ok",
      hostile: { kind: "manyOutputs", count: 2, duplicateNames: true },
    });
    const codes: Array<string | undefined> = [];
    for (let i = 0; i < 5; i++) codes.push((await predict("guarded", "1")).code);
    expect(codes.slice(0, 3)).toEqual(["BACKEND_ERROR", "BACKEND_ERROR", "BACKEND_ERROR"]);
    // Open: the gateway no longer calls the backend.
    expect(codes.slice(3)).toEqual(["BACKEND_UNAVAILABLE", "BACKEND_UNAVAILABLE"]);
  });
});
