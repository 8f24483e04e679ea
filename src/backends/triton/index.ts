/** The Triton backend (docs/backends.md, `type: triton`): KServe v2 over gRPC or REST. */
import { effectiveProtocol } from "../../config/references.js";
import type { SingleAddressConfig } from "../../config/schema.js";
import type { BackendAdapter } from "../types.js";
import { TritonGrpcAdapter } from "./grpc.js";
import { TritonRestAdapter } from "./rest.js";

/** The adapter for Triton backend `name`, speaking the protocol its config selects. */
export function createTritonAdapter(
  name: string,
  config: SingleAddressConfig<"triton">,
): BackendAdapter {
  if (effectiveProtocol(config) === "grpc") {
    if (config.grpc === undefined) {
      throw new Error(`backend "${name}": protocol grpc needs a "grpc" address`);
    }
    return new TritonGrpcAdapter(name, config.grpc, config.maxResponseBytes);
  }
  if (config.url === undefined) {
    throw new Error(`backend "${name}": protocol rest needs a "url"`);
  }
  return new TritonRestAdapter(name, config.url, {
    ...(config.maxConnections === undefined ? {} : { connections: config.maxConnections }),
    ...(config.maxResponseBytes === undefined ? {} : { maxResponseBytes: config.maxResponseBytes }),
  });
}
