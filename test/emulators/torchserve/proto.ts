/** Loads TorchServe's inference proto for the emulator's gRPC server (independently of src/). */
import { resolve } from "node:path";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const PROTOS_DIR = resolve(import.meta.dirname, "../../../protos");

let service: ServiceDefinition | undefined;

/** `org.pytorch.serve.grpc.inference.InferenceAPIsService`, loaded once. */
export function inferenceService(): ServiceDefinition {
  if (service !== undefined) return service;
  const pkg = loadSync("torchserve/inference.proto", {
    includeDirs: [PROTOS_DIR],
    keepCase: true,
    longs: String,
    bytes: Buffer,
    defaults: true,
    objects: true,
  });
  const def = pkg["org.pytorch.serve.grpc.inference.InferenceAPIsService"];
  if (def === undefined || "format" in def)
    throw new Error("InferenceAPIsService not in the proto");
  service = def as unknown as ServiceDefinition;
  return service;
}
