/**
 * The TF Serving backend (docs/backends.md): REST (`/v1/models/...:predict`, columnar format) or
 * gRPC (`PredictionService/Predict`), chosen by the backend's `protocol` (default: REST when a
 * `url` is configured).
 */

import { effectiveProtocol } from "../../config/references.js";
import type { SingleAddressConfig } from "../../config/schema.js";
import type { BackendAdapter } from "../types.js";
import { TfServingGrpcAdapter } from "./grpc.js";
import { TfServingRestAdapter } from "./rest.js";

/** Creates the adapter for TF Serving backend `name`. Throws when the chosen protocol has no address. */
export function createTfServingAdapter(
  name: string,
  config: SingleAddressConfig<"tfserving">,
): BackendAdapter {
  if (effectiveProtocol(config) === "grpc") {
    if (config.grpc === undefined) {
      throw new Error(`backend "${name}": protocol grpc needs a "grpc" address (host:port)`);
    }
    return new TfServingGrpcAdapter(name, config.grpc, config.maxResponseBytes);
  }
  if (config.url === undefined) {
    throw new Error(`backend "${name}": protocol rest needs a "url"`);
  }
  return new TfServingRestAdapter(name, config.url, {
    ...(config.maxConnections === undefined ? {} : { connections: config.maxConnections }),
    ...(config.maxResponseBytes === undefined ? {} : { maxResponseBytes: config.maxResponseBytes }),
  });
}
