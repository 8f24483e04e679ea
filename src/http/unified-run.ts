/**
 * One unified-API prediction from a parsed body to the response text, the same for a live
 * `/v1/predict` and an async job (whose result is exactly that response, docs/async.md): resolve
 * the route, decode the inputs against its metadata within the limits, infer, apply requested
 * classifications, encode.
 */
import type {
  InferenceApi,
  InferRequest,
  InferResponse,
  RequestContext,
  Route,
} from "../gateway/types.js";
import { DecodeBudget, type DecodeLimits } from "../tensor/index.js";
import { classifyResponse } from "../triton/classification.js";
import { yieldAfterInputs } from "./request.js";
import { decodeUnifiedInputs, encodeUnifiedResponse, type PredictBody } from "./unified-codec.js";

/** Runs `body` on `service`; `onRoute` learns the route as soon as it is resolved. */
export async function runUnified(
  service: InferenceApi,
  body: PredictBody,
  context: RequestContext,
  limits: DecodeLimits,
  onRoute?: (route: Route) => void,
): Promise<{ response: InferResponse; text: string }> {
  // An undefined version lets the service apply the x-infergate-version header, then the split.
  const route = service.resolve(body.model, body.version, context.header);
  onRoute?.(route);
  let request: InferRequest;
  try {
    const metadata = await service.metadata(route);
    request = {
      inputs: decodeUnifiedInputs(
        route.model,
        body.inputs,
        metadata.inputs,
        new DecodeBudget(limits),
      ),
    };
    await yieldAfterInputs(request.inputs);
  } catch (err) {
    service.refused(route, err);
    throw err;
  }
  if (body.id !== undefined) request.id = body.id;
  if (body.outputs !== undefined) request.outputs = body.outputs;
  const response = classifyResponse(
    route,
    await service.infer(route, request, context),
    body.classes,
  );
  return { response, text: await encodeUnifiedResponse(response, body.id, limits) };
}
