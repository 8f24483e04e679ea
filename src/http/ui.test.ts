import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { createMetrics } from "../metrics/registry.js";
import { TimeSeries } from "../metrics/timeseries.js";
import type { AppEnv } from "./deps.js";
import { uiRoutes } from "./ui.js";

function builtPage(): string {
  const dir = mkdtempSync(join(tmpdir(), "infergate-ui-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), "<!doctype html><p>page</p>");
  writeFileSync(join(dir, "assets/app-1a2b.js"), "console.log(1)");
  return dir;
}

/** Stands in for the public app: echoes which path and method reached it. */
const jobsApp = new Hono<AppEnv>().all("*", (c) =>
  c.json({ reached: `${c.req.method} ${c.req.path}` }, 200),
);

describe("uiRoutes", () => {
  it("serves the built page with its security headers, and assets as immutable", async () => {
    const app = uiRoutes({ assetsDir: builtPage() });
    for (const path of ["/ui", "/ui/"]) {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(await res.text()).toContain("<p>page</p>");
    }
    const asset = await app.request("/ui/assets/app-1a2b.js");
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect((await app.request("/ui/assets/missing.js")).status).toBe(404);
    expect((await app.request("/ui/../package.json")).status).toBe(404);
  });

  it("answers 503 with the build command when the page is not built", async () => {
    const app = uiRoutes({ assetsDir: join(tmpdir(), "infergate-ui-nothing-here") });
    const res = await app.request("/ui/");
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("npm run build");
  });

  it("serves the time series of the sampler and checks `seconds`", async () => {
    const metrics = createMetrics();
    const timeseries = new TimeSeries(metrics);
    await timeseries.sample(0);
    metrics.requests.inc({ model: "iris", version: "1", backend: "b", code: "OK" }, 3);
    await timeseries.sample(1000);
    const app = uiRoutes({ timeseries });
    const res = await app.request("/admin/timeseries?seconds=60&model=iris");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { models: Record<string, { rate: number[] }> };
    expect(body.models.iris?.rate).toEqual([3]);
    for (const bad of ["0", "601", "1.5", "x"]) {
      const refused = await app.request(`/admin/timeseries?seconds=${bad}`);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: { code: "INVALID_REQUEST" } });
    }
  });

  it("hands the job routes, and only those, to the public app", async () => {
    const app = uiRoutes({ jobsApp });
    const reached = async (method: string, path: string) => {
      const res = await app.request(path, { method });
      return res.status === 200 ? ((await res.json()) as { reached: string }).reached : res.status;
    };
    expect(await reached("GET", "/v1/async?limit=5")).toBe("GET /v1/async");
    expect(await reached("GET", "/v1/batches/b1/events")).toBe("GET /v1/batches/b1/events");
    expect(await reached("POST", "/v1/files?name=in.jsonl")).toBe("POST /v1/files");
    expect(await reached("POST", "/v1/schedules/nightly/run")).toBe(
      "POST /v1/schedules/nightly/run",
    );
    expect(await reached("POST", "/v1/async/j1/cancel")).toBe("POST /v1/async/j1/cancel");
    expect(await reached("GET", "/v1/files/out.jsonl")).toBe("GET /v1/files/out.jsonl");
    // No inference here: neither a predict nor an async submit.
    expect(await reached("POST", "/v1/predict")).toBe(404);
    expect(await reached("POST", "/v1/async/predict")).toBe(404);
    expect(await reached("POST", "/v1/models/iris/async/predict")).toBe(404);
    expect(await reached("DELETE", "/v1/batches/b1")).toBe(404);
    expect(await reached("GET", "/v1/models/iris")).toBe(404);
  });

  it("refuses cross-origin writes to the job routes and lets same-origin ones through", async () => {
    const app = uiRoutes({ jobsApp });
    const post = (headers: Record<string, string>) =>
      app.request("http://127.0.0.1:8082/v1/batches", { method: "POST", headers });
    const evil = await post({ origin: "http://evil.example", host: "127.0.0.1:8082" });
    expect(evil.status).toBe(403);
    expect(await evil.json()).toMatchObject({ error: { code: "PERMISSION_DENIED" } });
    expect((await post({ "sec-fetch-site": "cross-site" })).status).toBe(403);
    const same = await post({ origin: "http://127.0.0.1:8082", host: "127.0.0.1:8082" });
    expect(same.status).toBe(200);
  });

  it("runs the guard hook before the data routes but not before the page", async () => {
    const app = uiRoutes({
      assetsDir: builtPage(),
      jobsApp,
      guard: async (c, next) =>
        c.req.header("authorization") === "Bearer k" ? next() : c.json({ error: "no key" }, 401),
    });
    expect((await app.request("/ui/")).status).toBe(200);
    expect((await app.request("/admin/timeseries")).status).toBe(401);
    expect((await app.request("/v1/async")).status).toBe(401);
    const keyed = await app.request("/v1/async", { headers: { authorization: "Bearer k" } });
    expect(keyed.status).toBe(200);
  });
});
