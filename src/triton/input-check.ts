/**
 * The v2 fronts' input errors in Triton's words (docs/triton.md "Errors"): when the gateway refuses
 * a request's input, the same rules are run against the version's metadata so that clients
 * matching Triton's messages (unexpected input, missing inputs, wrong datatype or shape) see them.
 */
import type { ModelMetadata } from "../backends/types.js";
import { InvalidRequestError, toGatewayError } from "../errors.js";
import type {
  InferenceApi,
  InferRequest,
  InferResponse,
  RequestContext,
  Route,
} from "../gateway/types.js";

const list = (names: readonly string[]) => `[${names.map((n) => `'${n}'`).join(", ")}]`;

/** Throws Triton's INVALID_REQUEST for the first input or output that does not fit `metadata`. */
export function checkInputsAsTriton(
  model: string,
  metadata: ModelMetadata,
  request: InferRequest,
): void {
  const specs = new Map(metadata.inputs.map((s) => [s.name, s]));
  for (const input of request.inputs) {
    const spec = specs.get(input.name);
    if (spec === undefined) {
      throw new InvalidRequestError(
        `unexpected inference input '${input.name}' for model '${model}'`,
      );
    }
    if (spec.datatype !== input.datatype) {
      throw new InvalidRequestError(
        `inference input '${input.name}' data-type is '${input.datatype}', but model '${model}' expects '${spec.datatype}'`,
      );
    }
    const fits =
      input.shape.length === spec.shape.length &&
      spec.shape.every((dim, i) => dim === -1 || dim === input.shape[i]);
    if (!fits) {
      throw new InvalidRequestError(
        `unexpected shape for input '${input.name}' for model '${model}'. Expected [${spec.shape.join(",")}], got [${input.shape.join(",")}]`,
      );
    }
  }
  const given = new Set(request.inputs.map((i) => i.name));
  const missing = metadata.inputs.filter((s) => !given.has(s.name)).map((s) => s.name);
  if (missing.length > 0) {
    throw new InvalidRequestError(
      `expected ${metadata.inputs.length} inputs but got ${given.size} inputs for model '${model}'. Got input(s) ${list([...given])}, but missing required input(s) ${list(missing)}. Please provide all required input(s).`,
    );
  }
  const outputs = new Set(metadata.outputs.map((o) => o.name));
  for (const name of request.outputs ?? []) {
    if (!outputs.has(name)) {
      throw new InvalidRequestError(`unexpected inference output '${name}' for model '${model}'`);
    }
  }
}

/**
 * `service.infer`; when it refuses the input, the reason in Triton's words if the route's
 * metadata shows one (only failed requests pay for the second look), else its own error.
 */
export async function inferAsTriton(
  service: InferenceApi,
  route: Route,
  request: InferRequest,
  context: RequestContext,
): Promise<InferResponse> {
  try {
    return await service.infer(route, request, context);
  } catch (err) {
    if (toGatewayError(err).code === "INVALID_REQUEST") {
      const metadata = await service.metadata(route).catch(() => undefined);
      if (metadata !== undefined) checkInputsAsTriton(route.model, metadata, request);
    }
    throw err;
  }
}
