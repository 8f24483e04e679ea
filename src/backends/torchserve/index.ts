/** The TorchServe backend (docs/backends.md): the adapter for one configured `type: torchserve` backend. */

import { effectiveProtocol } from "../../config/references.js";
import type { SingleAddressConfig } from "../../config/schema.js";
import type { BackendAdapter } from "../types.js";
import { TorchServeAdapter } from "./adapter.js";
import { TorchServeGrpc } from "./grpc.js";
import { TorchServeRest } from "./rest.js";

/**
 * The adapter for backend `name`, speaking REST (`url`) or gRPC (`grpc`) as `effectiveProtocol`
 * picks. Throws when the chosen protocol's address is missing (the config check reports it first).
 */
export function createTorchServeAdapter(
  name: string,
  config: SingleAddressConfig<"torchserve">,
): BackendAdapter {
  const protocol = effectiveProtocol(config);
  if (protocol === "grpc") {
    if (config.grpc === undefined) {
      throw new Error(`backend "${name}": protocol grpc needs a "grpc" address`);
    }
    return new TorchServeAdapter(
      name,
      new TorchServeGrpc(name, {
        address: config.grpc,
        token: config.token,
        maxResponseBytes: config.maxResponseBytes,
      }),
    );
  }
  if (config.url === undefined) throw new Error(`backend "${name}": protocol rest needs a "url"`);
  return new TorchServeAdapter(
    name,
    new TorchServeRest(name, {
      url: config.url,
      token: config.token,
      maxConnections: config.maxConnections,
      maxResponseBytes: config.maxResponseBytes,
    }),
  );
}
