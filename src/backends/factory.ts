/**
 * Creates the adapter for one configured backend. Each backend type lives in its own folder; this
 * is the only place that knows them all.
 */
import type { BackendConfig } from "../config/schema.js";
import { OnnxAdapter } from "./onnx/adapter.js";
import type { BackendAdapter } from "./types.js";

/** Thrown when a backend cannot be started (bad model directory, unsupported type). */
export class BackendStartError extends Error {
  override name = "BackendStartError";
}

/** Starts the adapter for backend `name`. */
export async function createAdapter(name: string, config: BackendConfig): Promise<BackendAdapter> {
  switch (config.type) {
    case "onnx":
      return OnnxAdapter.create(name, {
        modelDir: config.modelDir,
        ...(config.intraOpNumThreads === undefined
          ? {}
          : { intraOpNumThreads: config.intraOpNumThreads }),
      });
    case "tfserving":
    case "torchserve":
    case "triton":
      // The remote adapters arrive with issue 3; fail loudly rather than serve a half gateway.
      throw new BackendStartError(
        `backend "${name}": type ${config.type} is not supported by this build yet`,
      );
  }
}
