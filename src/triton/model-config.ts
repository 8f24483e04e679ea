/**
 * Triton's model configuration (`model_config.proto` `ModelConfig`) of a gateway model version,
 * built from its metadata and the gateway's batching (docs/triton.md "Model configuration").
 * Field names are the proto's; enums by name; the same object serves REST JSON and gRPC.
 */
import type { ModelMetadata } from "../backends/types.js";
import { effectivePolicy } from "../config/effective.js";
import type { InferenceApi, Route } from "../gateway/types.js";
import type { Datatype, TensorSpec } from "../tensor/index.js";
import { configOf, modelConfigOf } from "./gateway-view.js";

/** `ModelInput` / `ModelOutput` as the gateway fills them. */
export interface TritonTensorConfig {
  name: string;
  data_type: string;
  dims: number[];
  format?: "FORMAT_NONE";
  label_filename?: string;
}

/** `ModelConfig` as the gateway fills it. */
export interface TritonModelConfig {
  name: string;
  platform: string;
  backend: string;
  version_policy: { specific: { versions: number[] } } | { latest: { num_versions: number } };
  max_batch_size: number;
  input: TritonTensorConfig[];
  output: TritonTensorConfig[];
  dynamic_batching?: { max_queue_delay_microseconds: number };
}

/** Triton's `DataType` enum name of a KServe datatype (BYTES is Triton's TYPE_STRING). */
export function tritonDataType(datatype: Datatype): string {
  return datatype === "BYTES" ? "TYPE_STRING" : `TYPE_${datatype}`;
}

/** The largest batch the gateway's batcher makes for the route; 0 without batching. */
export function maxBatchSizeOf(service: InferenceApi, route: Route): number {
  const config = configOf(service);
  const modelConfig = modelConfigOf(route);
  if (config === undefined || modelConfig === undefined) return 0;
  return effectivePolicy(config, modelConfig, "batching")?.maxBatchSize ?? 0;
}

/**
 * The configuration of a route's version. With batching (max_batch_size > 0) the batch dimension
 * is left out of dims, as in Triton; versions are the gateway's numeric ids (all of them listed
 * by a `specific` policy), else a `latest` policy over their count.
 */
export function buildModelConfig(
  service: InferenceApi,
  route: Route,
  metadata: ModelMetadata,
): TritonModelConfig {
  const maxBatchSize = maxBatchSizeOf(service, route);
  const dims = (t: TensorSpec) => (maxBatchSize > 0 ? t.shape.slice(1) : [...t.shape]);
  const config: TritonModelConfig = {
    name: route.model,
    platform: metadata.platform,
    backend: "",
    version_policy: versionPolicy(metadata.versions),
    max_batch_size: maxBatchSize,
    input: metadata.inputs.map((t) => ({
      name: t.name,
      data_type: tritonDataType(t.datatype),
      format: "FORMAT_NONE",
      dims: dims(t),
    })),
    output: metadata.outputs.map((t) => ({
      name: t.name,
      data_type: tritonDataType(t.datatype),
      dims: dims(t),
      label_filename: "",
    })),
  };
  const batching = batchingDelayMs(service, route);
  if (maxBatchSize > 0 && batching !== undefined) {
    config.dynamic_batching = { max_queue_delay_microseconds: Math.round(batching * 1000) };
  }
  return config;
}

/** The gateway's versions as a policy: `specific` when they are all numbers, else `latest` over them. */
export function versionPolicy(versions: readonly string[]): TritonModelConfig["version_policy"] {
  return versions.every((v) => /^\d+$/.test(v))
    ? { specific: { versions: versions.map(Number) } }
    : { latest: { num_versions: versions.length } };
}

function batchingDelayMs(service: InferenceApi, route: Route): number | undefined {
  const config = configOf(service);
  const modelConfig = modelConfigOf(route);
  if (config === undefined || modelConfig === undefined) return undefined;
  return effectivePolicy(config, modelConfig, "batching")?.maxDelayMs;
}
