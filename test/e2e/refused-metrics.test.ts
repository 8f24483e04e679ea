/**
 * Requests refused while decoding, after their model resolved, count in
 * `infergate_requests_total` under their error code on every front (docs/operations.md), so an
 * error-rate panel sees them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestGateway, type TestGateway } from "./harness.js";
import { kserveClient } from "./kserve-client.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

/** The value of `infergate_requests_total` for iris version 1 with `code`, 0 when absent. */
async function counted(code: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text
    .split("\n")
    .find(
      (l) =>
        l.startsWith("infergate_requests_total{") &&
        l.includes('model="iris"') &&
        l.includes('version="1"') &&
        l.includes(`code="${code}"`),
    );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("requests refused while decoding", () => {
  it("count on /v1, /v2 and gRPC under INVALID_REQUEST, beside the answered ones", async () => {
    const before = await counted("INVALID_REQUEST");
    const ok = await counted("OK");

    // /v1: text where iris takes FP32 numbers (decoded against its metadata before infer).
    const v1 = await postJson(`${gw.url}/v1/models/iris/predict`, {
      inputs: [["a", "b", "c", "d"]],
    });
    expect(v1.status).toBe(400);
    expect(await counted("INVALID_REQUEST")).toBe(before + 1);

    // /v2: 3 values for a declared shape of [1, 4].
    const v2 = await postJson(`${gw.url}/v2/models/iris/infer`, {
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4] }],
    });
    expect(v2.status).toBe(400);
    expect(await counted("INVALID_REQUEST")).toBe(before + 2);

    // gRPC: the same mismatch in typed contents.
    const client = kserveClient(gw.grpcAddress);
    try {
      const err = await client
        .call("ModelInfer", {
          model_name: "iris",
          inputs: [
            {
              name: "input",
              datatype: "FP32",
              shape: ["1", "4"],
              contents: { fp32_contents: [5.1, 3.5, 1.4] },
            },
          ],
        })
        .then(
          () => undefined,
          (e: { code: number }) => e,
        );
      expect(err?.code).toBe(3); // INVALID_ARGUMENT
    } finally {
      client.close();
    }
    expect(await counted("INVALID_REQUEST")).toBe(before + 3);

    // A good request still counts as OK, once.
    const good = await postJson(`${gw.url}/v1/models/iris/predict`, {
      inputs: [[5.1, 3.5, 1.4, 0.2]],
    });
    expect(good.status).toBe(200);
    expect(await counted("OK")).toBe(ok + 1);
    expect(await counted("INVALID_REQUEST")).toBe(before + 3);
  });
});
