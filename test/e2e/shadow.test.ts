/**
 * Shadow traffic through a real gateway: every request is copied to a version that computes
 * differently (iris_early); clients only ever see the primary's answers, and /metrics shows the
 * agreement the two versions really have.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../emulators/runner.js";
import { postJson, startTestGateway, type TestGateway } from "./harness.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(`server: { host: 127.0.0.1, port: 0 }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  iris:
    versions:
      "1": { backend: local, model: iris }
      "2": { backend: local, model: iris_early }
    default: "1"
    shadow: { version: "2", percent: 100 }
`);
});
afterAll(() => gw.stop());

const ROWS = readFileSync(resolve(import.meta.dirname, "../../scripts/data/iris.csv"), "utf8")
  .trim()
  .split("\n")
  .filter((line) => /^\d/.test(line))
  .map((line) => line.split(",").slice(0, 4).map(Number));

const metric = (text: string, name: string, labels: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
};

describe("shadow traffic", () => {
  it("answers from the primary only and records the real agreement with the shadow", async () => {
    expect(ROWS).toHaveLength(150);
    const labelsOf = async (version: string) => {
      const res = await postJson(
        `${gw.url}/v1/models/iris/versions/${version}/predict`,
        { inputs: ROWS },
        { "cache-control": "no-cache" },
      );
      return (res.body as { outputs: { label: number[] } }).outputs.label;
    };
    const primaryLabels = await labelsOf("1");
    const shadowLabels = await labelsOf("2");
    const disagreeing = primaryLabels.filter((l, i) => l !== shadowLabels[i]).length;
    expect(disagreeing).toBeGreaterThan(0);
    const before = await (await fetch(`${gw.url}/metrics`)).text();
    const agreeBefore = metric(
      before,
      "infergate_shadow_argmax_total",
      'model="iris",primary="1",shadow="2",agree="true"',
    );
    const disagreeBefore = metric(
      before,
      "infergate_shadow_argmax_total",
      'model="iris",primary="1",shadow="2",agree="false"',
    );

    // 30 unversioned requests of 5 rows each: every row once, each copied to the shadow.
    for (let i = 0; i < 150; i += 5) {
      const res = await postJson(`${gw.url}/v1/models/iris/predict`, {
        inputs: ROWS.slice(i, i + 5),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-infergate-version")).toBe("1");
      expect((res.body as { outputs: { label: number[] } }).outputs.label).toEqual(
        primaryLabels.slice(i, i + 5),
      );
    }
    // Only outputs with a class axis are compared row by row: probabilities [5, 3] (label is rank 1).
    const agreement = (text: string) => ({
      agree:
        metric(
          text,
          "infergate_shadow_argmax_total",
          'model="iris",primary="1",shadow="2",agree="true"',
        ) - agreeBefore,
      disagree:
        metric(
          text,
          "infergate_shadow_argmax_total",
          'model="iris",primary="1",shadow="2",agree="false"',
        ) - disagreeBefore,
    });
    await expect
      .poll(
        async () => {
          const now = agreement(await (await fetch(`${gw.url}/metrics`)).text());
          return now.agree + now.disagree;
        },
        { timeout: 5000 },
      )
      .toBe(150);
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(agreement(text)).toEqual({ agree: 150 - disagreeing, disagree: disagreeing });
    expect(
      metric(text, "infergate_shadow_max_abs_diff_count", 'model="iris",primary="1",shadow="2"'),
    ).toBeGreaterThanOrEqual(30);
    // The two versions' probabilities really differ: no comparison fell in the 0 bucket.
    expect(
      metric(
        text,
        "infergate_shadow_max_abs_diff_bucket",
        'le="0",model="iris",primary="1",shadow="2"',
      ),
    ).toBe(0);
    expect(
      metric(text, "infergate_shadow_errors_total", 'model="iris",primary="1",shadow="2"'),
    ).toBe(0);
  });
});
