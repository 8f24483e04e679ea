/** The conformance suite against the in-process ONNX backend (no emulator, no wire). */
import { OnnxAdapter } from "../../src/backends/onnx/adapter.js";
import { DATATYPES } from "../../src/tensor/types.js";
import { MODELS_DIR } from "../emulators/runner.js";
import { describeConformance } from "./suite.js";

describeConformance({
  name: "onnx",
  inProcess: true,
  start: async () => ({ adapter: await OnnxAdapter.create("remote", { modelDir: MODELS_DIR }) }),
  // Every datatype onnxruntime has (it has no BF16), as the shipped echo_<datatype> models.
  datatypes: DATATYPES.filter((d) => d !== "BF16"),
  exact64: true,
  arbitraryBytes: "refused",
});
