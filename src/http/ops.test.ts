import { describe, expect, it } from "vitest";
import { postJson, testApp } from "../../test/support/http-app.js";

describe("operations routes", () => {
  it("answers /healthz with 200", async () => {
    const { app } = testApp();
    const res = await app.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("answers /readyz with 200 when ready and 503 with the reasons when not", async () => {
    const { app, service } = testApp();
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", reasons: [] });
    service.readinessState = { ready: false, reasons: ["iris: no target reachable"] };
    const notReady = await app.request("/readyz");
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      status: "not ready",
      reasons: ["iris: no target reachable"],
    });
  });

  it("serves the registry in Prometheus text format", async () => {
    const { app, metrics } = testApp();
    metrics.requests.inc({ model: "iris", version: "1", backend: "local", code: "OK" });
    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(metrics.registry.contentType);
    const text = await res.text();
    expect(text).toContain("# TYPE infergate_requests_total counter");
    expect(text).toContain(
      'infergate_requests_total{model="iris",version="1",backend="local",code="OK"} 1',
    );
  });

  it("reloads the config with POST /admin/reload", async () => {
    const { app } = testApp();
    const res = await postJson(app, "/admin/reload", {});
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "reloaded" });
  });

  it("answers a rejected reload with 400 and every error", async () => {
    const { app, settings } = testApp();
    const errors = [
      'models.fraud.traffic[1].version: unknown version "3"',
      "server.port: expected number",
    ];
    settings.reload = { ok: false, errors };
    const res = await postJson(app, "/admin/reload", {});
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: string[] } };
    expect(body.error.code).toBe("INVALID_REQUEST");
    expect(body.error.details).toEqual(errors);
  });

  it("answers unknown routes with 404 in the format of their route family", async () => {
    const { app } = testApp();
    const unified = await app.request("/v1/nothing", { method: "POST" });
    expect(unified.status).toBe(404);
    expect(((await unified.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    const v2 = await app.request("/v2/nothing/here");
    expect(v2.status).toBe(404);
    expect(typeof ((await v2.json()) as { error: unknown }).error).toBe("string");
  });
});

describe("GET /admin/breakers", () => {
  it("lists every target's breaker as the service reports it", async () => {
    const { app, service } = testApp();
    service.breakerList = [
      {
        model: "iris",
        slot: "2",
        backend: "tfs",
        state: "open",
        successes: 3,
        failures: 20,
        rejects: 7,
        openedAt: "2026-11-21T00:00:00.000Z",
      },
    ];
    const res = await app.request("/admin/breakers");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ breakers: service.breakerList });
  });
});
