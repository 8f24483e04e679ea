/**
 * Builds the HTTP app around a FakeService for the front's tests, with a capturing logger and
 * adjustable body limit and reload result.
 */
import type { Hono } from "hono";
import type { ReloadResult } from "../../src/gateway/types.js";
import { createHttpApp } from "../../src/http/app.js";
import type { AppEnv } from "../../src/http/deps.js";
import { createMetrics, type Metrics } from "../../src/metrics/registry.js";
import { FakeService } from "./fake-service.js";

/** What a test gets to drive and inspect. */
export interface TestApp {
  app: Hono<AppEnv>;
  service: FakeService;
  metrics: Metrics;
  logged: { level: "error" | "warn" | "info"; obj: object; msg: string | undefined }[];
  settings: { bodyLimitBytes: number; reload: ReloadResult };
}

/** A fresh app, service and metrics registry. */
export function testApp(): TestApp {
  const service = new FakeService();
  const metrics = createMetrics();
  const logged: TestApp["logged"] = [];
  const settings: TestApp["settings"] = { bodyLimitBytes: 64 * 1024, reload: { ok: true } };
  const app = createHttpApp({
    service: () => service,
    metrics,
    bodyLimitBytes: () => settings.bodyLimitBytes,
    reload: async () => settings.reload,
    logger: {
      error: (obj, msg) => logged.push({ level: "error", obj, msg }),
      warn: (obj, msg) => logged.push({ level: "warn", obj, msg }),
      info: (obj, msg) => logged.push({ level: "info", obj, msg }),
    },
  });
  return { app, service, metrics, logged, settings };
}

/** A JSON POST through `app.request()`. */
export function postJson(
  app: Hono<AppEnv>,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}
