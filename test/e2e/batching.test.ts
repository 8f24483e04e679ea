/**
 * Batching through the whole gateway: concurrent single-row requests reach the backend as larger
 * batches, and every client gets the answer for its own row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChaosRig, startRig } from "../chaos/harness.js";
import { MODELS_DIR } from "../emulators/runner.js";
import { postJson } from "./harness.js";

let rig: ChaosRig;
beforeAll(async () => {
  rig = await startRig(
    ([grpc]) => `server: { host: 127.0.0.1, port: 0 }
backends:
  triton: { type: triton, grpc: "${grpc}" }
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  iris:
    versions:
      "1": { backend: triton }
      "2": { backend: local }
    batching: { maxBatchSize: 16, maxDelayMs: 20 }
`,
  );
});
afterAll(() => rig.close());

describe("batching through the gateway", () => {
  it("sends concurrent requests as batches and routes each row's answer back to its owner", async () => {
    const rows = Array.from({ length: 48 }, (_, i) => [
      4.3 + (i % 12) * 0.3,
      2 + (i % 7) * 0.3,
      1 + (i % 11) * 0.5,
      0.1 + (i % 5) * 0.5,
    ]);
    const answers = await Promise.all(
      rows.map((row) =>
        postJson(`${rig.gateway.url}/v1/models/iris/versions/1/predict`, { inputs: [row] }),
      ),
    );
    const reference = await postJson(`${rig.gateway.url}/v1/models/iris/versions/2/predict`, {
      inputs: rows,
    });
    const expected = (reference.body as { outputs: { probabilities: number[][] } }).outputs
      .probabilities;
    answers.forEach((res, i) => {
      expect(res.status).toBe(200);
      const got =
        (res.body as { outputs: { probabilities: number[][] } }).outputs.probabilities[0] ?? [];
      got.forEach((p, j) => {
        expect(Math.abs(p - (expected[i]?.[j] ?? Number.NaN)), `row ${i}`).toBeLessThanOrEqual(
          1e-6,
        );
      });
    });
    const sizes = rig.emulators[0]!.calls.map((c) => c.batchSize ?? 0);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(48);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(16);
    const metrics = await (await fetch(`${rig.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/infergate_batch_size_count\{backend="triton"\} [1-9]/);
  });
});
