/**
 * Creates the adapter for one configured backend. Each backend type lives in its own folder; this
 * is the only place that knows them all.
 */
import type { BackendConfig } from "../config/schema.js";
import { OnnxAdapter } from "./onnx/adapter.js";
import { createTfServingAdapter } from "./tfserving/index.js";
import { createTorchServeAdapter } from "./torchserve/index.js";
import { createTritonAdapter } from "./triton/index.js";
import type { BackendAdapter } from "./types.js";

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
    case "triton":
      return createTritonAdapter(name, config);
    case "torchserve":
      return createTorchServeAdapter(name, config);
    case "tfserving":
      return createTfServingAdapter(name, config);
  }
}
