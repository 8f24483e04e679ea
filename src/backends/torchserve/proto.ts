/**
 * Loads `protos/torchserve/inference.proto` (TorchServe's `InferenceAPIsService`) once, as a
 * grpc-js client constructor with the decoded message shapes spelled out.
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

/** `../../../protos` holds both from `src/backends/torchserve/` and from `dist/backends/torchserve/`. */
const PROTOS_DIR = fileURLToPath(new URL("../../../protos", import.meta.url));

/** The fully qualified service name. */
export const TORCHSERVE_SERVICE_NAME = "org.pytorch.serve.grpc.inference.InferenceAPIsService";

/** `PredictionsRequest` as sent (`input` holds the handler's request parameters). */
export interface WirePredictionsRequest {
  model_name: string;
  model_version: string;
  input: Record<string, Uint8Array>;
}

/** `PredictionResponse` as decoded (`bytes: Buffer`). */
export interface WirePredictionResponse {
  prediction: Buffer;
}

/** `TorchServeHealthResponse`: a JSON document such as `{"status": "Healthy"}`. */
export interface WireHealthResponse {
  health: string;
}

let clientClass: grpc.ServiceClientConstructor | undefined;

/** The grpc-js client class of InferenceAPIsService (loaded on first use, then cached). */
export function torchServeClientClass(): grpc.ServiceClientConstructor {
  if (clientClass !== undefined) return clientClass;
  const pkg = loadSync("torchserve/inference.proto", {
    includeDirs: [PROTOS_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    bytes: Buffer,
    defaults: true,
    arrays: true,
    objects: true,
  });
  const service = pkg[TORCHSERVE_SERVICE_NAME];
  if (service === undefined || "format" in service) {
    throw new Error(`torchserve/inference.proto does not define ${TORCHSERVE_SERVICE_NAME}`);
  }
  // The loader types the service loosely; the proto file fixes its methods (Ping, Predictions).
  const definition = service as unknown as grpc.ServiceDefinition;
  clientClass = grpc.makeGenericClientConstructor(definition, "InferenceAPIsService");
  return clientClass;
}
