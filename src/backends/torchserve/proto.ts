/**
 * Loads `protos/torchserve/inference.proto` (TorchServe's `InferenceAPIsService`) once, as a
 * grpc-js client constructor with the decoded message shapes spelled out.
 */
import * as grpc from "@grpc/grpc-js";
import { loadProtoPackage, serviceDefinition } from "../../protocols/load-proto.js";

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
  const pkg = loadProtoPackage("torchserve/inference.proto");
  const definition = serviceDefinition(pkg, TORCHSERVE_SERVICE_NAME);
  clientClass = grpc.makeGenericClientConstructor(definition, "InferenceAPIsService");
  return clientClass;
}
