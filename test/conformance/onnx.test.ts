/** The conformance suite against the in-process ONNX backend (no emulator, no wire). */
import { OnnxAdapter } from "../../src/backends/onnx/index.js";
import { MODELS_DIR } from "../emulators/runner.js";
import { describeConformance } from "./suite.js";

describeConformance({
  name: "onnx",
  inProcess: true,
  start: async () => ({ adapter: await OnnxAdapter.create("remote", { modelDir: MODELS_DIR }) }),
  datatypes: [
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
  ],
  exact64: true,
});
