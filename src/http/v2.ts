/**
 * KServe v2 REST front (docs/api.md) with the gateway's model names and versions. Errors
 * are answered as `{"error":"msg"}` by the app's error handler (it recognises `/v2` paths).
 */

import { type Context, Hono } from "hono";
import { INFERENCE_HEADER } from "../protocols/kserve/binary-header.js";
import { DEFAULT_LIMITS, DecodeBudget } from "../tensor/index.js";
import { classifyResponse, restClassRequests } from "../triton/classification.js";
import { inferAsTriton } from "../triton/input-check.js";
import { restTensorParameters, sequenceKey } from "../triton/parameters.js";
import { resolveAsTriton } from "../triton/wording.js";
import type { AppEnv, HttpDeps } from "./deps.js";
import { errorHandler, v2ErrorBody } from "./errors.js";
import { stderrLogger } from "./logger.js";
import {
  predictionBody,
  predictionHeaders,
  readBodyBytes,
  requestContext,
  yieldAfter,
  yieldAfterInputs,
} from "./request.js";
import { scopeOf } from "./scope.js";
import { decodeV2Request, encodeV2Response, splitV2Body } from "./v2-codec.js";
import { v2ExtensionRoutes } from "./v2-extensions.js";

/** Routes of the KServe v2 REST protocol. */
export function v2Routes(deps: Pick<HttpDeps, "service" | "limits" | "logger">): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler({ logger: deps.logger ?? stderrLogger, body: v2ErrorBody }));
  app.route("/", v2ExtensionRoutes(deps)); // Triton's extensions (docs/triton.md), first: see there

  app.get("/v2/health/live", (c) => c.json({ live: true }, 200));

  // Triton answers "not ready" with 400; clients read only 200 vs not-200.
  app.get("/v2/health/ready", async (c) => {
    const { ready } = await deps.service().readiness();
    return c.json({ ready }, ready ? 200 : 400);
  });

  app.get("/v2", (c) => {
    const { name, version, extensions } = deps.service().info;
    return c.json({ name, version, extensions }, 200);
  });

  // Resolves the path's model and optional version; unknown ones throw the 404 errors.
  // The snapshot is held until `release` (see InferenceService.hold).
  function resolve(c: Context<AppEnv>) {
    const service = deps.service(scopeOf(c));
    const release = service.hold();
    try {
      const model = c.req.param("model") ?? "";
      const route = resolveAsTriton(service, model, c.req.param("version"), (n) => c.req.header(n));
      return { service, route, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  async function modelMetadata(c: Context<AppEnv>): Promise<Response> {
    const { service, route, release } = resolve(c);
    const metadata = await service.metadata(route).finally(release);
    return c.json(
      {
        name: route.model,
        versions: metadata.versions,
        platform: metadata.platform,
        inputs: metadata.inputs,
        outputs: metadata.outputs,
      },
      200,
    );
  }

  async function modelReady(c: Context<AppEnv>): Promise<Response> {
    const { service, route, release } = resolve(c);
    const ready = await service.ready(route).finally(release);
    // Triton answers a loaded-but-not-ready model with 400; clients read only the status.
    return c.json({ name: route.model, ready }, ready ? 200 : 400);
  }

  async function infer(c: Context<AppEnv>): Promise<Response> {
    // Resolve first so an unknown model is a 404 whatever the body holds.
    const { service, route, release } = resolve(c);
    let response: Awaited<ReturnType<typeof service.infer>>;
    let decoded: ReturnType<typeof decodeV2Request>;
    const limits = deps.limits?.() ?? DEFAULT_LIMITS;
    let called = false;
    try {
      const context = requestContext(c);
      const bytes = await readBodyBytes(c);
      const { json, binary } = splitV2Body(bytes, c.req.header(INFERENCE_HEADER), limits);
      await yieldAfter(bytes.byteLength);
      decoded = decodeV2Request(json, binary, new DecodeBudget(limits));
      await yieldAfterInputs(decoded.request.inputs);
      // A sequence keeps to one version of a split (docs/triton.md "Parameters and sequences").
      const tensorParameters = restTensorParameters(json);
      if (tensorParameters !== undefined) decoded.request.tensorParameters = tensorParameters;
      const seq = sequenceKey(decoded.request.parameters);
      const target =
        seq === undefined
          ? route
          : resolveAsTriton(
              service,
              route.model,
              c.req.param("version"),
              (n) => c.req.header(n),
              seq,
            );
      called = true;
      response = await inferAsTriton(service, target, decoded.request, context);
      response = classifyResponse(target, response, restClassRequests(json));
    } catch (err) {
      if (!called) service.refused(route, err);
      throw err;
    } finally {
      release();
    }
    const encoded = await encodeV2Response(
      response,
      decoded.request.id,
      decoded.binaryOutput,
      limits,
    );
    const headers = predictionHeaders(c, response, encoded.contentType);
    if (encoded.jsonLength !== undefined) headers[INFERENCE_HEADER] = String(encoded.jsonLength);
    return predictionBody(c, encoded.body, headers);
  }

  app.get("/v2/models/:model", modelMetadata);
  app.get("/v2/models/:model/versions/:version", modelMetadata);
  app.get("/v2/models/:model/ready", modelReady);
  app.get("/v2/models/:model/versions/:version/ready", modelReady);
  app.post("/v2/models/:model/infer", infer);
  app.post("/v2/models/:model/versions/:version/infer", infer);
  return app;
}
