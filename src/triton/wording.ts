/**
 * Triton's wording for the errors its clients check by text (docs/triton.md "Errors"): the v2
 * fronts resolve through {@link resolveAsTriton}; codes and statuses stay the gateway's.
 */
import { GatewayError, ModelNotFoundError, VersionNotFoundError } from "../errors.js";
import type { HeaderLookup, InferenceApi, Route } from "../gateway/types.js";

/** Triton's message for an unknown model, or an unknown version of a known one. */
export function unknownModelMessage(model: string, version?: string): string {
  return version === undefined || version === ""
    ? `Request for unknown model: '${model}' is not found`
    : `Request for unknown model: '${model}' version ${version} is not found`;
}

/** `service.resolve`, with unknown models and versions answered in Triton's words. */
export function resolveAsTriton(
  service: InferenceApi,
  model: string,
  version: string | undefined,
  header: HeaderLookup,
  affinityKey?: string,
): Route {
  try {
    return service.resolve(model, version, header, affinityKey);
  } catch (err) {
    if (err instanceof ModelNotFoundError) {
      throw new GatewayError("MODEL_NOT_FOUND", unknownModelMessage(model), { cause: err });
    }
    if (err instanceof VersionNotFoundError) {
      throw new GatewayError("VERSION_NOT_FOUND", unknownModelMessage(model, version), {
        cause: err,
      });
    }
    throw err;
  }
}
