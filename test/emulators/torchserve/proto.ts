/** Loads TorchServe's inference proto for the emulator's gRPC server (independently of src/). */
import type { ServiceDefinition } from "@grpc/grpc-js";
import { loadServices } from "../protos.js";

const SERVICE = "org.pytorch.serve.grpc.inference.InferenceAPIsService";
let service: ServiceDefinition | undefined;

/** `org.pytorch.serve.grpc.inference.InferenceAPIsService`, loaded once. */
export function inferenceService(): ServiceDefinition {
  service ??= loadServices("torchserve/inference.proto", [SERVICE])[SERVICE];
  return service;
}
