import { describe, expect, it } from "vitest";
import { testApp } from "../../test/support/http-app.js";
import { createAdminApp } from "./app.js";

const SPLIT = JSON.stringify({
  traffic: [
    { version: "1", weight: 90 },
    { version: "2", weight: 10 },
  ],
});

/** An admin POST through app.request with these headers. */
function post(
  app: ReturnType<typeof testApp>["app"],
  path: string,
  headers: Record<string, string>,
) {
  return app.request(path, {
    method: "POST",
    headers,
    body: path.endsWith("/traffic") ? SPLIT : "{}",
  });
}

describe("admin write rules", () => {
  it("needs Content-Type: application/json on every admin POST (415 otherwise)", async () => {
    const { app, service } = testApp();
    for (const path of ["/admin/reload", "/admin/models/iris/traffic"]) {
      for (const type of [
        undefined,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
      ]) {
        const res = await post(app, path, type === undefined ? {} : { "content-type": type });
        expect(res.status, `${path} ${type}`).toBe(415);
        expect(await res.json()).toEqual({
          error: {
            code: "INVALID_REQUEST",
            message: "admin writes need Content-Type: application/json",
          },
        });
      }
    }
    // Nothing was changed by the refused writes.
    expect(service.traffic.size).toBe(0);
    const ok = await post(app, "/admin/models/iris/traffic", {
      "content-type": "Application/JSON; charset=utf-8",
    });
    expect(ok.status).toBe(200);
  });

  it("refuses cross-origin browser requests with 403", async () => {
    const { app, service } = testApp();
    const json = { "content-type": "application/json", host: "127.0.0.1:8082" };
    const refused: Array<Record<string, string>> = [
      { origin: "http://evil.example" },
      { origin: "http://127.0.0.1:3000" }, // same site, other port: another origin
      { origin: "https://127.0.0.1:8082" }, // other scheme
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
    ];
    for (const headers of refused) {
      const res = await post(app, "/admin/models/iris/traffic", { ...json, ...headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("PERMISSION_DENIED");
    }
    // A DNS-rebound page: its own name in both Origin and Host.
    const rebound = await post(app, "/admin/reload", {
      "content-type": "application/json",
      host: "evil.example:8082",
      origin: "http://evil.example:8082",
    });
    expect(rebound.status).toBe(403);
    expect(service.traffic.size).toBe(0);
  });

  it("accepts the listener's own origin, same-origin fetches and non-browser clients", async () => {
    const { app } = testApp();
    const json = { "content-type": "application/json" };
    const accepted: Array<Record<string, string>> = [
      { host: "127.0.0.1:8082", origin: "http://127.0.0.1:8082", "sec-fetch-site": "same-origin" },
      { host: "localhost:8082", origin: "http://localhost:8082" },
      { host: "[::1]:8082", origin: "http://[::1]:8082" },
      {}, // curl, scripts: no Origin
    ];
    for (const headers of accepted) {
      const res = await post(app, "/admin/reload", { ...json, ...headers });
      expect(res.status, JSON.stringify(headers)).toBe(200);
    }
  });

  it("accepts the configured non-loopback admin host as an origin", async () => {
    const base = testApp();
    const app = createAdminApp(
      {
        service: () => base.service,
        metrics: base.metrics,
        bodyLimitBytes: () => 65_536,
        reload: async () => ({ ok: true }),
      },
      { hosts: ["10.0.0.5"] },
    );
    const headers = { "content-type": "application/json", host: "10.0.0.5:8082" };
    expect(
      (await post(app, "/admin/reload", { ...headers, origin: "http://10.0.0.5:8082" })).status,
    ).toBe(200);
    expect(
      (await post(app, "/admin/reload", { ...headers, origin: "http://10.0.0.6:8082" })).status,
    ).toBe(403);
  });

  it("leaves admin reads alone", async () => {
    const { app } = testApp();
    const res = await app.request("/admin/routes", { headers: { origin: "http://evil.example" } });
    expect(res.status).toBe(200);
  });
});

describe("admin audit log", () => {
  it("logs one line per traffic change, before and after", async () => {
    const { app, logged } = testApp();
    const res = await post(app, "/admin/models/iris/traffic", {
      "content-type": "application/json",
    });
    expect(res.status).toBe(200);
    expect(logged).toEqual([
      {
        level: "info",
        msg: "admin: traffic split set",
        obj: {
          who: "anonymous",
          model: "iris",
          before: "default version 1",
          after: "1=90, 2=10 (runtime)",
        },
      },
    ]);
  });

  it("logs one line per reload with its outcome", async () => {
    const { app, logged, settings } = testApp();
    await post(app, "/admin/reload", { "content-type": "application/json" });
    settings.reload = { ok: false, errors: ["a: b", "c: d"] };
    await post(app, "/admin/reload", { "content-type": "application/json" });
    expect(logged).toEqual([
      {
        level: "info",
        msg: "admin: config reload",
        obj: { who: "anonymous", outcome: "reloaded" },
      },
      {
        level: "info",
        msg: "admin: config reload",
        obj: { who: "anonymous", outcome: "rejected", errors: 2 },
      },
    ]);
  });

  it("logs nothing for a refused write", async () => {
    const { app, logged } = testApp();
    await post(app, "/admin/models/iris/traffic", { "content-type": "text/plain" });
    await post(app, "/admin/models/nope/traffic", { "content-type": "application/json" });
    expect(logged).toEqual([]);
  });
});
