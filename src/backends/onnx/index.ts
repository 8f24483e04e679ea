/** The in-process ONNX backend (docs/backends.md "ONNX in process"). */
export { OnnxAdapter, type OnnxAdapterConfig } from "./adapter.js";
export { ONNX_PLATFORM } from "./metadata.js";
export type { PoolStats } from "./worker-pool.js";
