/**
 * Run-time weights shared by two gateway processes (`node dist/cli.js serve`) on one
 * redis-server: a split set through one gateway's admin API routes the other's requests within a
 * second, and a gateway started later begins with it. Both iris versions serve the same ONNX
 * model; an answer names its version in `x-infergate-version`.
 */
import { writeFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, startGatewayProcess } from "../jobs/process.js";
import { skipWithoutRedis, startRedis, type TestRedis } from "../support/redis.js";
import { MODELS_DIR, postJson, writeConfig } from "./harness.js";

const skip = skipWithoutRedis();
let redis: TestRedis | undefined;
const gateways: GatewayProcess[] = [];

beforeAll(async () => {
  if (!skip) redis = await startRedis();
});
afterEach(async () => {
  for (const gw of gateways.splice(0)) await gw.stop();
});
afterAll(async () => {
  await redis?.stop();
});

function config(): string {
  return `server: { host: 127.0.0.1, port: 0 }
redis: { url: "${redis?.url}", keyPrefix: "e2e-weights-${process.pid}:" }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  iris:
    versions:
      "1": { backend: local, model: iris, version: "1" }
      "2": { backend: local, model: iris, version: "1" }
    default: "1"
`;
}

async function start(configPath: string): Promise<GatewayProcess> {
  const gw = await startGatewayProcess(configPath);
  gateways.push(gw);
  return gw;
}

async function versionAt(gw: GatewayProcess): Promise<string | null> {
  const res = await postJson(`${gw.url}/v1/models/iris/predict`, {
    inputs: [[5.1, 3.5, 1.4, 0.2]],
  });
  expect(res.status).toBe(200);
  return res.headers.get("x-infergate-version");
}

async function setTraffic(gw: GatewayProcess, weights: [number, number]) {
  return postJson(`${gw.url}/admin/models/iris/traffic`, {
    traffic: [
      { version: "1", weight: weights[0] },
      { version: "2", weight: weights[1] },
    ],
  });
}

/** Ms from now until `gw` answers 10 requests in a row from `version` (gives up after 5 s). */
async function msUntilRouted(gw: GatewayProcess, version: string): Promise<number> {
  const started = performance.now();
  let inARow = 0;
  let firstOfRow = started;
  while (performance.now() - started < 5000) {
    if ((await versionAt(gw)) === version) {
      if (inARow === 0) firstOfRow = performance.now();
      inARow += 1;
      if (inARow === 10) return firstOfRow - started;
    } else {
      inARow = 0;
    }
  }
  return Number.POSITIVE_INFINITY;
}

describe.skipIf(skip)("run-time weights shared by two gateways on one Redis", () => {
  it("applies a weight change made on one gateway on the other within a second", async () => {
    const configPath = writeConfig(config());
    const [a, b] = await Promise.all([start(configPath), start(configPath)]);
    expect(await versionAt(b)).toBe("1");

    const set = await setTraffic(a, [0, 100]);
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ traffic: { source: "runtime" } });
    const toCanary = await msUntilRouted(b, "2");
    expect(toCanary).toBeLessThan(1000);

    // And back, set through the other gateway this time.
    expect((await setTraffic(b, [100, 0])).status).toBe(200);
    expect(await msUntilRouted(a, "1")).toBeLessThan(1000);
    const routes = (await (await fetch(`${a.url}/admin/routes`)).json()) as {
      models: { iris: { traffic?: { source: string; weights: unknown } } };
    };
    expect(routes.models.iris.traffic).toEqual({
      source: "runtime",
      weights: [
        { version: "1", weight: 100 },
        { version: "2", weight: 0 },
      ],
    });

    // A gateway started later reads the stored split before it serves.
    expect((await setTraffic(a, [0, 100])).status).toBe(200);
    await msUntilRouted(b, "2");
    const c = await start(configPath);
    expect(await versionAt(c)).toBe("2");
    expect(
      c.logs.some((l) => l.msg === "shared run-time traffic weights applied" && l.model === "iris"),
    ).toBe(true);

    // A reloads a file whose traffic block changed: the split is dropped on every gateway, even
    // on B, which has not reloaded and goes back to its own file's routing (the default, "1").
    writeFileSync(
      configPath,
      config().replace(
        '    default: "1"\n',
        '    default: "1"\n    traffic: [{ version: "1", weight: 1 }]\n',
      ),
    );
    expect((await postJson(`${a.url}/admin/reload`, {})).status).toBe(200);
    expect(await msUntilRouted(b, "1")).toBeLessThan(1000);
    const afterReload = (await (await fetch(`${b.url}/admin/routes`)).json()) as {
      models: { iris: { traffic?: unknown } };
    };
    expect(afterReload.models.iris.traffic).toBeUndefined();
  });
});
