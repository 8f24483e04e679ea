/**
 * Two gateways sharing one progressive rollout through a real redis-server: only gateway A gets
 * traffic, yet B's routing follows every step A's numbers earn, and a gateway started later joins
 * at the current step. /admin/routes shows who judges.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { skipWithoutRedis, startRedis, type TestRedis } from "../support/redis.js";
import { MODELS_DIR, postJson, type RolloutView, rolloutOf, startTestGateway } from "./harness.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const skip = skipWithoutRedis();
let redis: TestRedis | undefined;
beforeAll(async () => {
  if (!skip) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.skipIf(skip)("a progressive rollout shared by two gateways", () => {
  it("moves the idle gateway's weights with the busy one's decisions", async () => {
    const config = `server: { host: 127.0.0.1, port: 0 }
redis: { url: "${redis?.url}", keyPrefix: "e2e-${process.pid}:" }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  iris:
    versions:
      "1": { backend: local, model: iris }
      "2": { backend: local, model: iris }
    rollout: { from: "1", to: "2", steps: [10, 50, 100], intervalSeconds: 0.4, minRequests: 10, maxP99Ratio: 20 }
`;
    const a = await startTestGateway(config);
    cleanup.push(() => a.stop());
    const b = await startTestGateway(config);
    cleanup.push(() => b.stop());

    const weightsOfB: number[] = [];
    let done = false;
    const deadline = Date.now() + 15_000;
    const watcher = (async () => {
      while (!done && Date.now() < deadline) {
        const seen = await rolloutOf(b);
        if (weightsOfB.at(-1) !== seen.weight) weightsOfB.push(seen.weight);
        done = seen.phase === "done";
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!done && Date.now() < deadline) {
          const res = await postJson(`${a.url}/v1/models/iris/predict`, {
            inputs: [[5.1, 3.5, 1.4, 0.2]],
          });
          statuses.push(res.status);
        }
      }),
    );
    await watcher;
    // A leading 0 when the watcher looked before B's first poll (it waits for the fleet's step).
    expect(weightsOfB.filter((w, i) => !(i === 0 && w === 0))).toEqual([10, 50, 100]);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // B can read "done" from Redis a moment before A's own view (A writes the step, then its
    // controller's state settles on its next look), so A's view is polled, not read once.
    await expect
      .poll(() => rolloutOf(a), { timeout: 3000 })
      .toMatchObject({ phase: "done", weight: 100 });
    const [ra, rb] = [await rolloutOf(a), await rolloutOf(b)];
    expect(ra.shared?.key).toBe(rb.shared?.key);
    expect(rb.shared).toMatchObject({ redis: "connected" });
    // B served nothing, yet routes to the canary now.
    const res = await postJson(`${b.url}/v1/models/iris/predict`, {
      inputs: [[5.1, 3.5, 1.4, 0.2]],
    });
    expect(res.headers.get("x-infergate-version")).toBe("2");
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(metrics).toContain('infergate_rollout_weight{model="iris",version="2"} 100');

    // A third gateway with the same block starts where the others are, not at 10%.
    const c = await startTestGateway(config);
    cleanup.push(() => c.stop());
    let joined: RolloutView | undefined;
    for (let i = 0; i < 100; i++) {
      joined = await rolloutOf(c);
      if (joined.phase === "done") break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(joined).toMatchObject({ phase: "done", weight: 100 });
  });
});
