/** The in-process ONNX backend (SPEC section 6, `type: onnx`). */
export { OnnxAdapter, type OnnxAdapterConfig } from "./adapter.js";
export { ONNX_PLATFORM } from "./metadata.js";
export type { PoolStats } from "./worker-pool.js";
