/**
 * Loads the project's TF Serving protos (`protos/tensorflow_serving/apis/*.proto`) once and exposes
 * the three RPCs the gateway calls, with the TypeScript shapes of their decoded messages.
 */
import type { MethodDefinition } from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import { loadProtoPackage, serviceDefinition } from "../../protocols/load-proto.js";

const FILES = [
  "tensorflow_serving/apis/prediction_service.proto",
  "tensorflow_serving/apis/model_service.proto",
];

/** `tensorflow.TensorShapeProto`. */
export interface WireShape {
  dim: { size: string | number; name?: string }[];
  unknown_rank?: boolean;
}

/** `tensorflow.TensorProto` (the fields the gateway uses). Numbers may be sent as numbers. */
export interface WireTensorProto {
  dtype: string | number;
  tensor_shape: WireShape | null;
  tensor_content?: Uint8Array;
  half_val?: number[];
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  string_val?: Uint8Array[];
  int64_val?: (string | number)[];
  bool_val?: boolean[];
  uint32_val?: number[];
  uint64_val?: (string | number)[];
}

/** `tensorflow.serving.ModelSpec`. */
export interface WireModelSpec {
  name: string;
  version?: { value: string | number } | null;
  version_label?: string;
  signature_name?: string;
}

/** `PredictRequest`. */
export interface WirePredictRequest {
  model_spec: WireModelSpec;
  inputs: Record<string, WireTensorProto>;
  output_filter: string[];
}

/** `PredictResponse`. */
export interface WirePredictResponse {
  outputs: Record<string, WireTensorProto>;
  model_spec: WireModelSpec | null;
}

/** `GetModelMetadataRequest`. */
export interface WireMetadataRequest {
  model_spec: WireModelSpec;
  metadata_field: string[];
}

/** `GetModelMetadataResponse` with its Any values unpacked (`json: true`). */
export interface WireMetadataResponse {
  model_spec: WireModelSpec | null;
  metadata: Record<string, { "@type"?: string; [field: string]: unknown }>;
}

/** `ModelVersionStatus`. */
export interface WireVersionStatus {
  version: string;
  state: string;
  status: { error_code: string; error_message: string } | null;
}

/** The RPCs the gateway calls. */
export interface TfServingMethods {
  Predict: MethodDefinition<WirePredictRequest, WirePredictResponse>;
  GetModelMetadata: MethodDefinition<WireMetadataRequest, WireMetadataResponse>;
  GetModelStatus: MethodDefinition<
    { model_spec: WireModelSpec },
    { model_version_status: WireVersionStatus[] }
  >;
}

let loaded: TfServingMethods | undefined;

function method(pkg: PackageDefinition, service: string, name: string): unknown {
  const found = serviceDefinition(pkg, `tensorflow.serving.${service}`)[name];
  if (found === undefined) throw new Error(`TF Serving protos lack ${service}/${name}`);
  return found;
}

/** The method definitions (for `grpc.makeGenericClientConstructor`), loaded on first use. */
export function tfServingMethods(): TfServingMethods {
  if (loaded !== undefined) return loaded;
  const plain = loadProtoPackage(FILES);
  // Only the metadata answer needs Any unpacked (see loadProtoPackage on what `json` costs).
  const json = loadProtoPackage(FILES, { json: true });
  // The loader types messages as `object`; the protos fix the shapes the Wire* types spell out.
  loaded = {
    Predict: method(plain, "PredictionService", "Predict"),
    GetModelMetadata: method(json, "PredictionService", "GetModelMetadata"),
    GetModelStatus: method(plain, "ModelService", "GetModelStatus"),
  } as TfServingMethods;
  return loaded;
}
