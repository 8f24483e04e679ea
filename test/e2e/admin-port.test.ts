/**
 * `server.adminPort`: the admin interface on its own (loopback) listener, off the public port, as
 * Envoy keeps its admin apart. Without it everything stays on the public port (SPEC 5).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { localConfig, postJson, startTestGateway, type TestGateway } from "./harness.js";

let gw: TestGateway;
let admin: string;
beforeAll(async () => {
  gw = await startTestGateway(
    localConfig().replace("  grpcPort: 0\n", "  grpcPort: 0\n  adminPort: 0\n"),
  );
  admin = `http://127.0.0.1:${gw.adminPort}`;
});
afterAll(async () => {
  await gw?.stop();
});

describe("a separate admin port", () => {
  it("serves /admin/* there and nowhere else", async () => {
    expect(gw.adminPort).toBeGreaterThan(0);
    expect(gw.adminPort).not.toBe(gw.httpPort);
    for (const path of ["/admin/routes", "/admin/breakers"]) {
      expect((await fetch(`${gw.url}${path}`)).status).toBe(404);
      expect((await fetch(`${admin}${path}`)).status).toBe(200);
    }
    expect((await fetch(`${gw.url}/admin/reload`, { method: "POST" })).status).toBe(404);
    expect((await fetch(`${admin}/admin/reload`, { method: "POST" })).status).toBe(200);
    const traffic = { traffic: [{ version: "1", weight: 1 }] };
    expect((await postJson(`${gw.url}/admin/models/iris/traffic`, traffic)).status).toBe(404);
    expect((await postJson(`${admin}/admin/models/iris/traffic`, traffic)).status).toBe(200);
  });

  it("keeps health and metrics on both, and predictions on the public port only", async () => {
    for (const base of [gw.url, admin]) {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain("infergate_requests_total");
    }
    const body = { inputs: [[5.1, 3.5, 1.4, 0.2]] };
    expect((await postJson(`${gw.url}/v1/models/iris/predict`, body)).status).toBe(200);
    expect((await postJson(`${admin}/v1/models/iris/predict`, body)).status).toBe(404);
  });
});

describe("admin port config", () => {
  const base = { backends: {}, models: {} };
  it("is optional, and so is its host (the listener binds 127.0.0.1 without one)", () => {
    const config = configSchema.parse({ ...base, server: { adminPort: 9901 } });
    expect(config.server.adminPort).toBe(9901);
    expect(config.server.adminHost).toBeUndefined();
    expect(configSchema.parse(base).server.adminPort).toBeUndefined();
  });

  it("refuses a port used twice", () => {
    const result = configSchema.safeParse({
      ...base,
      server: { port: 8080, grpcPort: 8081, adminPort: 8080 },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({
      path: ["server", "adminPort"],
      message: "adminPort 8080 is already port",
    });
    expect(
      configSchema.safeParse({ ...base, server: { port: 9000, grpcPort: 9000 } }).success,
    ).toBe(false);
    // Different addresses do not collide; adminHost alone means nothing.
    expect(
      configSchema.safeParse({
        ...base,
        server: { host: "10.0.0.5", port: 9000, adminPort: 9000, adminHost: "127.0.0.1" },
      }).success,
    ).toBe(true);
    const lone = configSchema.safeParse({ ...base, server: { adminHost: "127.0.0.1" } });
    expect(lone.error?.issues[0]).toMatchObject({
      path: ["server", "adminHost"],
      message: "adminHost needs adminPort",
    });
    // 0 is "any free port": never a collision.
    expect(
      configSchema.safeParse({ ...base, server: { port: 0, grpcPort: 0, adminPort: 0 } }).success,
    ).toBe(true);
  });
});
