/**
 * Reload under load (docs/operations.md "Reload"): requests running across a reload all succeed;
 * new requests take the new routes; an invalid file is rejected with its errors while the old
 * config keeps serving.
 */
import { writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localConfig, postJson, startTestGateway, type TestGateway } from "./harness.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.stop();
});

const predict = (headers: Record<string, string> = {}) =>
  postJson(`${gw.url}/v1/models/iris/predict`, { inputs: [[5.1, 3.5, 1.4, 0.2]] }, headers);

describe("config reload", () => {
  it("loses no request while reloading repeatedly under load, and applies the new routes", async () => {
    const withV2 = localConfig().replace(
      '      "1": { backend: local, model: iris, version: "1" }\n    labels: { stable: "1" }',
      '      "1": { backend: local, model: iris, version: "1" }\n      "2": { backend: local, model: iris, version: "1" }\n    labels: { stable: "2" }\n    default: "2"',
    );
    expect(withV2).not.toBe(localConfig());
    let stop = false;
    const statuses: number[] = [];
    const load = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const res = await predict();
        statuses.push(res.status);
      }
    });
    for (let i = 0; i < 6; i++) {
      writeFileSync(gw.configPath, i % 2 === 0 ? withV2 : localConfig());
      const res = await postJson(`${gw.url}/admin/reload`, {});
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 30));
    }
    writeFileSync(gw.configPath, withV2);
    expect((await postJson(`${gw.url}/admin/reload`, {})).status).toBe(200);
    stop = true;
    await Promise.all(load);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const after = await predict();
    expect(after.headers.get("x-infergate-version")).toBe("2");
    const stable = await predict({ "x-infergate-version": "stable" });
    expect(stable.headers.get("x-infergate-version")).toBe("2");
  });

  it("rejects an invalid file with its errors and keeps serving the old config", async () => {
    writeFileSync(gw.configPath, localConfig());
    expect((await postJson(`${gw.url}/admin/reload`, {})).status).toBe(200);
    writeFileSync(
      gw.configPath,
      `${localConfig()}    traffic:\n      - { version: "7", weight: 1 }\n`.replace(
        "type: onnx",
        "type: onnx\n    colour: blue",
      ),
    );
    const res = await postJson(`${gw.url}/admin/reload`, {});
    expect(res.status).toBe(400);
    const text = JSON.stringify(res.body);
    expect(text).toContain("backends.local.colour");
    expect(text).toContain('models.ops.traffic[0].version: unknown version \\"7\\"');
    const still = await predict();
    expect(still.status).toBe(200);
    expect(still.headers.get("x-infergate-version")).toBe("1");
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/infergate_config_reloads_total\{result="failure"\} [1-9]/);
  });

  it("keeps the old backend open for a request that took the old snapshot before a reload replaced it", async () => {
    writeFileSync(gw.configPath, localConfig());
    expect((await postJson(`${gw.url}/admin/reload`, {})).status).toBe(200);
    for (const path of ["/v1/models/iris/predict", "/v2/models/iris/infer"]) {
      const body = path.startsWith("/v1")
        ? JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] })
        : JSON.stringify({
            inputs: [
              { name: "input", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] },
            ],
          });
      const answer = new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          `${gw.url}${path}`,
          {
            method: "POST",
            headers: { "content-type": "application/json", "content-length": String(body.length) },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        // Half the body now: the request has taken its snapshot and waits for the rest.
        req.write(body.slice(0, 10));
        setTimeout(async () => {
          // A changed backend config makes the reload start a new ONNX backend and retire the old.
          const threads = path.startsWith("/v1") ? 1 : 2;
          writeFileSync(
            gw.configPath,
            localConfig().replace("type: onnx", `type: onnx\n    intraOpNumThreads: ${threads}`),
          );
          const reloaded = await postJson(`${gw.url}/admin/reload`, {});
          expect(reloaded.status).toBe(200);
          await new Promise((r) => setTimeout(r, 50));
          req.end(body.slice(10));
        }, 50);
      });
      expect(await answer, path).toBe(200);
    }
  });
});
