/**
 * The unified predict API (docs/api.md): `POST /v1/predict`, `/v1/models/:model/predict`,
 * `/v1/models/:model/versions/:version/predict`.
 */

import { type Context, Hono } from "hono";
import type { InferRequest } from "../gateway/types.js";
import { DEFAULT_LIMITS, DecodeBudget } from "../tensor/index.js";
import { classifyResponse } from "../triton/classification.js";
import type { AppEnv, HttpDeps } from "./deps.js";
import { errorHandler, unifiedErrorBody } from "./errors.js";
import { stderrLogger } from "./logger.js";
import {
  predictionBody,
  predictionHeaders,
  readJsonBody,
  requestContext,
  yieldAfterInputs,
} from "./request.js";
import { decodeUnifiedInputs, encodeUnifiedResponse, parsePredictBody } from "./unified-codec.js";

/** Routes of the unified API; errors propagate to the app's error handler. */
export function unifiedRoutes(deps: Pick<HttpDeps, "service" | "limits" | "logger">): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler({ logger: deps.logger ?? stderrLogger, body: unifiedErrorBody }));

  async function predict(c: Context<AppEnv>): Promise<Response> {
    const service = deps.service();
    const release = service.hold();
    try {
      const limits = deps.limits?.() ?? DEFAULT_LIMITS;
      const body = parsePredictBody(await readJsonBody(c, limits), {
        model: c.req.param("model"),
        version: c.req.param("version"),
      });
      const context = requestContext(c);
      // An undefined version lets the service apply the x-infergate-version header, then the split.
      const route = service.resolve(body.model, body.version, context.header);
      const metadata = await service.metadata(route);
      const request: InferRequest = {
        inputs: decodeUnifiedInputs(
          route.model,
          body.inputs,
          metadata.inputs,
          new DecodeBudget(limits),
        ),
      };
      await yieldAfterInputs(request.inputs);
      if (body.id !== undefined) request.id = body.id;
      if (body.outputs !== undefined) request.outputs = body.outputs;
      const response = classifyResponse(
        route,
        await service.infer(route, request, context),
        body.classes,
      );
      return await predictionBody(
        c,
        await encodeUnifiedResponse(response, body.id, limits),
        predictionHeaders(c, response, "application/json"),
      );
    } finally {
      release();
    }
  }

  app.post("/v1/predict", predict);
  app.post("/v1/models/:model/predict", predict);
  app.post("/v1/models/:model/versions/:version/predict", predict);
  return app;
}
