/**
 * The unified predict API (docs/api.md): `POST /v1/predict`, `/v1/models/:model/predict`,
 * `/v1/models/:model/versions/:version/predict`.
 */

import { type Context, Hono } from "hono";
import { DEFAULT_LIMITS } from "../tensor/index.js";
import type { AppEnv, HttpDeps } from "./deps.js";
import { errorHandler, unifiedErrorBody } from "./errors.js";
import { stderrLogger } from "./logger.js";
import { predictionBody, predictionHeaders, readJsonBody, requestContext } from "./request.js";
import { scopeOf } from "./scope.js";
import { parsePredictBody } from "./unified-codec.js";
import { runUnified } from "./unified-run.js";

/** Routes of the unified API; errors propagate to the app's error handler. */
export function unifiedRoutes(deps: Pick<HttpDeps, "service" | "limits" | "logger">): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler({ logger: deps.logger ?? stderrLogger, body: unifiedErrorBody }));

  async function predict(c: Context<AppEnv>): Promise<Response> {
    const service = deps.service(scopeOf(c));
    const release = service.hold();
    try {
      const limits = deps.limits?.() ?? DEFAULT_LIMITS;
      const body = parsePredictBody(await readJsonBody(c, limits), {
        model: c.req.param("model"),
        version: c.req.param("version"),
      });
      const { response, text } = await runUnified(service, body, requestContext(c), limits);
      return await predictionBody(c, text, predictionHeaders(c, response, "application/json"));
    } finally {
      release();
    }
  }

  app.post("/v1/predict", predict);
  app.post("/v1/models/:model/predict", predict);
  app.post("/v1/models/:model/versions/:version/predict", predict);
  return app;
}
