/**
 * The one small interface every backend (tfserving, torchserve, triton, onnx) implements. Each
 * backend folder owns its wire codec; nothing outside it knows a backend's format.
 */
import type { NamedTensor, TensorSpec } from "../tensor/types.js";
import type { TensorParameters } from "../triton/parameters.js";

/** The backend types of docs/config.md "`backends.<name>`". */
export type BackendType = "tfserving" | "torchserve" | "triton" | "onnx";

/** What a backend reports of a model (KServe v2 model metadata, canonical datatypes). */
export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** A resolved target: one model version on one backend (a model's target in docs/config.md, defaults applied). */
export interface TargetRef {
  /** The backend's name in the config. */
  backend: string;
  /** The model's name on the backend. */
  model: string;
  /** The backend's version; undefined = the backend's latest/default. */
  version?: string;
  /** TF Serving signature. */
  signature?: string;
  /** Declared tensors, for backends without metadata or to override what they report. */
  inputs?: TensorSpec[];
  outputs?: TensorSpec[];
}

/** Who is waiting for a call: a live request first, then async jobs, then batch records. */
export type Priority = "live" | "async" | "batch";

/** One call to a backend. */
export interface BackendCall {
  id?: string;
  inputs: NamedTensor[];
  /** Requested output names; undefined = all outputs. */
  outputs?: string[];
  /** Absolute deadline, ms since the epoch (Date.now() clock). */
  deadline: number;
  /** Aborted when the caller gives up (deadline, client gone, shutdown). */
  signal: AbortSignal;
  /** `Cache-Control: no-cache`: skip the cache lookup (a fresh answer is still stored). */
  noCache?: boolean;
  /** Scheduling lane in the batcher and the limiter; absent = "live". */
  priority?: Priority;
  /**
   * The gateway's request id (an async job's id for its runs), sent to remote backends as
   * `x-request-id` so their logs correlate and a retried job can be recognised. A batch of merged
   * requests has none.
   */
  requestId?: string;
  /** The caller's tenant ("" without auth): the response cache keeps tenants apart. */
  tenant?: string;
  /** The client's request `parameters` (Triton backends get them; such calls are never batched or cached). */
  parameters?: Readonly<Record<string, unknown>>;
  /** Per-input and per-output parameters, for Triton backends (same rule: never batched or cached). */
  tensorParameters?: TensorParameters;
}

/** A backend's answer. */
export interface BackendResult {
  outputs: NamedTensor[];
  /** The version the backend says computed it, when it says. */
  modelVersion?: string;
  /** Parameters the backend set on its answer (Triton backends), passed back to the client. */
  parameters?: Record<string, unknown>;
  /** Parameters the backend set on each output, by output name (Triton backends). */
  outputParameters?: Record<string, Record<string, unknown>>;
  /** Set by the response cache: whether this answer came from it. */
  cache?: "hit" | "miss";
}

/** A connection to one configured backend. Errors thrown are GatewayErrors (src/errors.ts). */
export interface BackendAdapter {
  /** The backend's name in the config. */
  readonly name: string;
  readonly type: BackendType;
  /** Runs one inference. */
  infer(target: TargetRef, call: BackendCall): Promise<BackendResult>;
  /** The model's metadata as the backend reports it (declared tensors are applied by the caller). */
  metadata(target: TargetRef): Promise<ModelMetadata>;
  /** True when the target's model version is loaded and ready. */
  ready(target: TargetRef): Promise<boolean>;
  /** True when the backend process is reachable and live. */
  health(): Promise<boolean>;
  /** Releases connections and sessions. */
  close(): Promise<void>;
}
