/**
 * Creates the adapter for one configured backend. Each backend type lives in its own folder; this
 * is the only place that knows them all. A remote backend listing several addresses gets one
 * adapter per replica behind a ReplicaSet.
 */
import { effectiveProtocol, type RemoteBackendConfig } from "../config/references.js";
import { type BackendConfig, outlierDetectionSchema } from "../config/schema.js";
import { createOnnxAdapter } from "./onnx/index.js";
import { DEFAULT_MAX_RESPONSE_BYTES } from "./remote/http-client.js";
import { ReplicaSet } from "./replicas/replica-set.js";
import { createTfServingAdapter } from "./tfserving/index.js";
import { createTorchServeAdapter } from "./torchserve/index.js";
import { createTritonAdapter } from "./triton/index.js";
import type { BackendAdapter } from "./types.js";

/** Hooks the gateway passes to the adapters it creates. */
export interface AdapterHooks {
  /** A replica of backend `backend` was ejected (for `infergate_replica_ejections_total`). */
  onEject?(backend: string, address: string): void;
  /**
   * The current `server.bodyLimitBytes`: a remote backend without `maxResponseBytes` may answer
   * up to 4 × it. Absent = the default body limit's.
   */
  bodyLimitBytes?: number;
}

/** Starts the adapter for backend `name`. */
export async function createAdapter(
  name: string,
  config: BackendConfig,
  hooks: AdapterHooks = {},
): Promise<BackendAdapter> {
  if (config.type !== "onnx" && config.maxResponseBytes === undefined) {
    const limit = hooks.bodyLimitBytes;
    const cap = limit === undefined ? DEFAULT_MAX_RESPONSE_BYTES : 4 * limit;
    return createAdapter(name, { ...config, maxResponseBytes: cap }, hooks);
  }
  switch (config.type) {
    case "onnx":
      return createOnnxAdapter(name, config);
    case "triton":
      return replicated(name, config, hooks, (one) => createTritonAdapter(name, one));
    case "torchserve":
      return replicated(name, config, hooks, (one) => createTorchServeAdapter(name, one));
    case "tfserving":
      return replicated(name, config, hooks, (one) => createTfServingAdapter(name, one));
  }
}

/**
 * A remote backend's config narrowed to one address (a `SingleAddressConfig` of its type); the
 * replicas' outlier detection belongs to the set, not to any one of them.
 */
type SingleAddress<T extends RemoteBackendConfig> = Omit<T, "url" | "grpc" | "outlierDetection"> & {
  url?: string;
  grpc?: string;
};

/**
 * One adapter per address of the effective protocol's list; the single adapter itself when there
 * is one address, else a ReplicaSet over them.
 */
function replicated<T extends RemoteBackendConfig>(
  name: string,
  config: T,
  hooks: AdapterHooks,
  create: (one: SingleAddress<T>) => BackendAdapter,
): BackendAdapter {
  const replicas = splitAddresses(config);
  const first = replicas[0];
  // No address for the protocol: the backend's own factory throws its usual message.
  if (first === undefined) return create(withoutAddresses(config));
  if (replicas.length === 1) return create(first.config);
  const endpoints: { address: string; adapter: BackendAdapter }[] = [];
  try {
    for (const { address, config: one } of replicas) {
      endpoints.push({ address, adapter: create(one) });
    }
  } catch (err) {
    for (const { adapter } of endpoints) void adapter.close().catch(() => undefined);
    throw err;
  }
  const onEject = hooks.onEject;
  return new ReplicaSet(endpoints, config.outlierDetection ?? outlierDetectionSchema.parse({}), {
    ...(onEject === undefined ? {} : { onEject: (address: string) => onEject(name, address) }),
  });
}

/** One config per address of the effective protocol, each with that protocol pinned. */
function splitAddresses<T extends RemoteBackendConfig>(
  config: T,
): { address: string; config: SingleAddress<T> }[] {
  const protocol = effectiveProtocol(config);
  const listed = protocol === "grpc" ? config.grpc : config.url;
  const addresses = listed === undefined ? [] : Array.isArray(listed) ? listed : [listed];
  return addresses.map((address) => ({
    address,
    config: {
      ...withoutAddresses(config),
      protocol,
      ...(protocol === "grpc" ? { grpc: address } : { url: address }),
    },
  }));
}

function withoutAddresses<T extends RemoteBackendConfig>(config: T): SingleAddress<T> {
  const { url: _url, grpc: _grpc, outlierDetection: _od, ...rest } = config;
  return rest;
}
