/**
 * Run-time traffic weights across a reload (docs/access.md "Tenants" lists the audit side): a
 * reload that leaves a model's traffic block unchanged keeps the weights set through
 * `POST /admin/models/{m}/traffic`; one that changes the block goes back to the file's weights.
 */
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ownJobsDir } from "./auth-support.js";
import { MODELS_DIR, postJson, startTestGateway, type TestGateway } from "./harness.js";

const config = (weights: [number, number]) => `server: { host: 127.0.0.1, port: 0 }
${ownJobsDir()}
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  iris:
    versions:
      "1": { backend: local, model: iris, version: "1" }
      "2": { backend: local, model: iris, version: "1" }
    traffic:
      - { version: "1", weight: ${weights[0]} }
      - { version: "2", weight: ${weights[1]} }
  ops:
    versions: { "1": { backend: local, model: ops } }
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(config([90, 10]));
});
afterAll(async () => {
  await gw?.stop();
});

async function traffic(): Promise<{
  source: string;
  weights: { version: string; weight: number }[];
}> {
  const res = await fetch(`${gw.url}/admin/routes`);
  const body = (await res.json()) as {
    models: Record<
      string,
      { traffic: { source: string; weights: { version: string; weight: number }[] } }
    >;
  };
  return body.models.iris?.traffic ?? { source: "none", weights: [] };
}

describe("run-time weights across a reload", () => {
  it("survive a reload that leaves the traffic block alone, and yield to a changed one", async () => {
    const set = await postJson(`${gw.url}/admin/models/iris/traffic`, {
      traffic: [
        { version: "1", weight: 50 },
        { version: "2", weight: 50 },
      ],
    });
    expect(set.status).toBe(200);
    // A change elsewhere in the file: iris's traffic block stays the same.
    writeFileSync(gw.configPath, `${config([90, 10])}defaults: { timeoutMs: 5000 }\n`);
    expect((await postJson(`${gw.url}/admin/reload`, {})).status).toBe(200);
    expect(await traffic()).toEqual({
      source: "runtime",
      weights: [
        { version: "1", weight: 50 },
        { version: "2", weight: 50 },
      ],
    });
    writeFileSync(gw.configPath, config([70, 30]));
    expect((await postJson(`${gw.url}/admin/reload`, {})).status).toBe(200);
    expect(await traffic()).toEqual({
      source: "config",
      weights: [
        { version: "1", weight: 70 },
        { version: "2", weight: 30 },
      ],
    });
  });
});
