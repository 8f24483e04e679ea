/**
 * Where `/admin/*` answers (docs/security.md "Admin exposure"): on the admin listener when
 * `server.adminPort` is set, else on the public port only when it is bound to loopback; a public
 * port on a non-loopback address never serves it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { startGateway } from "../../src/server.js";
import {
  localConfig,
  postJson,
  startTestGateway,
  type TestGateway,
  writeConfig,
} from "./harness.js";
import { captureLogger } from "./log-capture.js";

const TRAFFIC = { traffic: [{ version: "1", weight: 1 }] };

/** Status of each admin route on `base`. */
async function adminStatuses(base: string): Promise<number[]> {
  return [
    (await fetch(`${base}/admin/routes`)).status,
    (await fetch(`${base}/admin/breakers`)).status,
    (await postJson(`${base}/admin/reload`, {})).status,
    (await postJson(`${base}/admin/models/iris/traffic`, TRAFFIC)).status,
  ];
}

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
    expect(await adminStatuses(gw.url)).toEqual([404, 404, 404, 404]);
    expect(await adminStatuses(admin)).toEqual([200, 200, 200, 200]);
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

describe("without an admin port", () => {
  // The public port binds every interface here (an ephemeral port, reached over 127.0.0.1 only).
  const everywhere = () =>
    localConfig().replace(
      "  host: 127.0.0.1\n  port: 0\n  grpcPort: 0\n",
      "  host: 0.0.0.0\n  port: 0\n",
    );

  it("answers 404 for /admin/* on a public port bound to a non-loopback address, and warns", async () => {
    const { logger, lines } = captureLogger();
    const gateway = await startGateway({ configPath: writeConfig(everywhere()), logger });
    const open = { ...gateway, url: `http://127.0.0.1:${gateway.httpPort}` };
    try {
      expect(open.adminPort).toBeUndefined();
      expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
        "server.host 0.0.0.0 is not loopback and there is no server.adminPort: /admin/* answers 404 (set adminPort to reach it)",
      ]);
      expect(await adminStatuses(open.url)).toEqual([404, 404, 404, 404]);
      // Everything else still answers there.
      expect((await fetch(`${open.url}/healthz`)).status).toBe(200);
      const body = { inputs: [[5.1, 3.5, 1.4, 0.2]] };
      expect((await postJson(`${open.url}/v1/models/iris/predict`, body)).status).toBe(200);
    } finally {
      await open.stop();
    }
  });

  it("serves /admin/* on a public port bound to loopback", async () => {
    const local = await startTestGateway(localConfig().replace("  grpcPort: 0\n", ""));
    try {
      expect(await adminStatuses(local.url)).toEqual([200, 200, 200, 200]);
    } finally {
      await local.stop();
    }
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
