/**
 * The in-process ONNX backend (docs/backends.md "ONNX in process"): the adapter for one configured
 * `type: onnx` backend, its sessions loaded from `modelDir`.
 */
import type { BackendConfig } from "../../config/schema.js";
import { OnnxAdapter } from "./adapter.js";

/** Loads the sessions of ONNX backend `name` and returns its adapter. */
export function createOnnxAdapter(
  name: string,
  config: Extract<BackendConfig, { type: "onnx" }>,
): Promise<OnnxAdapter> {
  return OnnxAdapter.create(name, {
    modelDir: config.modelDir,
    workers: config.workers,
    ...(config.intraOpNumThreads === undefined
      ? {}
      : { intraOpNumThreads: config.intraOpNumThreads }),
  });
}
