/**
 * Loads `protos/kserve/grpc_service.proto` (KServe v2 `inference.GRPCInferenceService`) once and
 * exposes its method definitions with the TypeScript shapes of the decoded messages. Shared by the
 * gRPC front (server side) and anything that calls a KServe v2 server (client side).
 */
import { join } from "node:path";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { loadProtoPackage, PROTOS_DIR, serviceDefinition } from "../load-proto.js";

const KSERVE_PROTO = "kserve/grpc_service.proto";

/** Absolute path of the proto file. */
export const KSERVE_PROTO_PATH = join(PROTOS_DIR, KSERVE_PROTO);

/** The fully qualified service name. */
export const KSERVE_SERVICE_NAME = "inference.GRPCInferenceService";

/** A 64-bit integer as a decimal string (`longs: String`). Numbers are accepted when encoding. */
export type WireInt64 = string;

/** `InferParameter`: exactly one of the value fields is set; `parameter_choice` names it. */
export interface WireInferParameter {
  parameter_choice?:
    | "bool_param"
    | "int64_param"
    | "string_param"
    | "double_param"
    | "uint64_param";
  bool_param?: boolean;
  int64_param?: WireInt64;
  string_param?: string;
  double_param?: number;
  uint64_param?: WireInt64;
}

/** `InferTensorContents`: one repeated field per datatype family. */
export interface WireTensorContents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: WireInt64[];
  uint_contents: number[];
  uint64_contents: WireInt64[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Uint8Array[];
}

/** `ModelInferRequest.InferInputTensor`. `contents` is null when absent. */
export interface WireInferInputTensor {
  name: string;
  datatype: string;
  shape: WireInt64[];
  parameters: Record<string, WireInferParameter>;
  contents: Partial<WireTensorContents> | null;
}

/** `ModelInferRequest.InferRequestedOutputTensor`. */
export interface WireRequestedOutput {
  name: string;
  parameters: Record<string, WireInferParameter>;
}

/** `ModelInferRequest`. */
export interface WireModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, WireInferParameter>;
  inputs: WireInferInputTensor[];
  outputs: WireRequestedOutput[];
  raw_input_contents: Uint8Array[];
}

/** `ModelInferResponse.InferOutputTensor`. `contents` is null when absent. */
export interface WireInferOutputTensor {
  name: string;
  datatype: string;
  shape: WireInt64[];
  parameters: Record<string, WireInferParameter>;
  contents: Partial<WireTensorContents> | null;
}

/** `ModelInferResponse`. */
export interface WireModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, WireInferParameter>;
  outputs: WireInferOutputTensor[];
  raw_output_contents: Uint8Array[];
}

/** `ModelMetadataResponse.TensorMetadata`. */
export interface WireTensorMetadata {
  name: string;
  datatype: string;
  shape: WireInt64[];
}

/** `ModelMetadataResponse`. */
export interface WireModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: WireTensorMetadata[];
  outputs: WireTensorMetadata[];
}

/** `ServerMetadataResponse`. */
export interface WireServerMetadataResponse {
  name: string;
  version: string;
  extensions: string[];
}

/** `ModelReadyRequest` and `ModelMetadataRequest`. */
export interface WireModelRef {
  name: string;
  version: string;
}

/** The empty request messages. */
export type WireEmpty = Record<string, never>;

/** The six RPCs with their request and response shapes. */
export interface KserveMethods {
  ServerLive: MethodDefinition<WireEmpty, { live: boolean }>;
  ServerReady: MethodDefinition<WireEmpty, { ready: boolean }>;
  ModelReady: MethodDefinition<WireModelRef, { ready: boolean }>;
  ServerMetadata: MethodDefinition<WireEmpty, WireServerMetadataResponse>;
  ModelMetadata: MethodDefinition<WireModelRef, WireModelMetadataResponse>;
  ModelInfer: MethodDefinition<WireModelInferRequest, WireModelInferResponse>;
}

const METHOD_NAMES = [
  "ServerLive",
  "ServerReady",
  "ModelReady",
  "ServerMetadata",
  "ModelMetadata",
  "ModelInfer",
] as const;

let loaded: { definition: ServiceDefinition; methods: KserveMethods } | undefined;

/**
 * The service definition (for `grpc.Server.addService`) and its typed methods (for
 * `grpc.Client.makeUnaryRequest`). Loaded from disk on first use, then cached.
 */
export function kserveService(): { definition: ServiceDefinition; methods: KserveMethods } {
  if (loaded !== undefined) return loaded;
  const definition = serviceDefinition(loadProtoPackage(KSERVE_PROTO), KSERVE_SERVICE_NAME);
  for (const name of METHOD_NAMES) {
    if (definition[name] === undefined) throw new Error(`${KSERVE_SERVICE_NAME} lacks ${name}`);
  }
  // The proto file fixes the real message shapes, which the Wire* interfaces spell out for the
  // loader's decoding options.
  loaded = { definition, methods: definition as unknown as KserveMethods };
  return loaded;
}
