/**
 * Triton's own `grpc_service.proto` and `model_config.proto` (vendored unchanged in
 * `protos/triton/`), for the extension RPCs the KServe core proto does not declare.
 */
import type { ServiceDefinition } from "@grpc/grpc-js";
import { KSERVE_SERVICE_NAME } from "../protocols/kserve/proto.js";
import { loadProtoPackage, serviceDefinition } from "../protocols/load-proto.js";

/** The extension RPCs the gateway registers beside the core six. */
export const EXTENSION_METHODS = [
  "ModelStreamInfer",
  "ModelConfig",
  "ModelStatistics",
  "RepositoryIndex",
  "RepositoryModelLoad",
  "RepositoryModelUnload",
  "SystemSharedMemoryStatus",
  "SystemSharedMemoryRegister",
  "SystemSharedMemoryUnregister",
  "CudaSharedMemoryStatus",
  "CudaSharedMemoryRegister",
  "CudaSharedMemoryUnregister",
  "TraceSetting",
  "LogSettings",
] as const;

let loaded: ServiceDefinition | undefined;

/** Triton's full service definition (same package and service name as the core proto). */
export function tritonServiceDefinition(): ServiceDefinition {
  loaded ??= serviceDefinition(
    loadProtoPackage("triton/grpc_service.proto", { extraDirs: ["triton"] }),
    KSERVE_SERVICE_NAME,
  );
  return loaded;
}

/** The definition of just the extension RPCs, to add to a server that serves the core six. */
export function extensionDefinition(): ServiceDefinition {
  const full = tritonServiceDefinition();
  return Object.fromEntries(
    EXTENSION_METHODS.map((name) => {
      const method = full[name];
      if (method === undefined) throw new Error(`Triton's grpc_service.proto lacks ${name}`);
      return [name, method];
    }),
  );
}

/** Triton's names of the extensions the gateway serves (server metadata `extensions`). */
export const TRITON_EXTENSIONS = [
  "classification",
  "sequence",
  "model_repository",
  "model_configuration",
  "parameters",
  "statistics",
] as const;
