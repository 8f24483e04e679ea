import type { Hono } from "hono";
import type { SmartRouter } from "hono/router/smart-router";
import { describe, expect, it } from "vitest";
import { FakeService } from "../../test/support/fake-service.js";
import { testApp } from "../../test/support/http-app.js";
import type { JobEngine } from "../jobs/engine.js";
import { createMetrics } from "../metrics/registry.js";
import { createAdminApp, createHttpApp } from "./app.js";
import type { AppEnv } from "./deps.js";

/** Deps for building an app; routes are only registered, no request reaches the job engine. */
function deps() {
  const service = new FakeService();
  return {
    service: () => service,
    metrics: createMetrics(),
    bodyLimitBytes: () => 65_536,
    reload: async () => ({ ok: true as const }),
    jobs: {} as JobEngine,
  };
}

/** The router SmartRouter settled on, at the first match. */
async function routerOf(app: Hono<AppEnv>): Promise<string> {
  expect((await app.request("/healthz")).status).toBe(200);
  return (app.router as SmartRouter<unknown>).activeRouter.name;
}

describe("the public app's router", () => {
  it("is Hono's RegExpRouter with every route mounted (jobs and batches too), not its trie fallback", async () => {
    expect(await routerOf(createHttpApp(deps()))).toBe("RegExpRouter");
  });

  it("is the RegExpRouter on the admin listener too", async () => {
    expect(await routerOf(createAdminApp(deps()))).toBe("RegExpRouter");
  });

  it("still answers every model's statistics on /v2/models/stats, and a model's metadata beside it", async () => {
    const { app } = testApp();
    const stats = (await (await app.request("/v2/models/stats")).json()) as {
      model_stats: { name: string }[];
    };
    expect(stats.model_stats.length).toBeGreaterThan(0);
    const names = new Set(stats.model_stats.map((s) => s.name));
    expect(names.size).toBeGreaterThan(1);
    const metadata = (await (await app.request("/v2/models/iris")).json()) as { name: string };
    expect(metadata.name).toBe("iris");
  });
});
