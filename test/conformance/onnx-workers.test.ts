/**
 * The conformance suite against the ONNX backend with its sessions on a worker thread
 * (`workers: 1`): every answer must match the on-loop subject (onnx.test.ts) exactly.
 */
import { OnnxAdapter } from "../../src/backends/onnx/adapter.js";
import { DATATYPES } from "../../src/tensor/types.js";
import { MODELS_DIR } from "../emulators/runner.js";
import { describeConformance } from "./suite.js";

describeConformance({
  name: "onnx-workers",
  inProcess: true,
  start: async () => ({
    adapter: await OnnxAdapter.create("remote", { modelDir: MODELS_DIR, workers: 1 }),
  }),
  // Every datatype onnxruntime has (it has no BF16), as the shipped echo_<datatype> models.
  datatypes: DATATYPES.filter((d) => d !== "BF16"),
  exact64: true,
  arbitraryBytes: "refused",
});
