/** The conformance suite against the TF Serving adapter over REST and the TF Serving emulator. */
import { createTfServingAdapter } from "../../src/backends/tfserving/index.js";
import { startTfServingEmulator } from "../emulators/tfserving/index.js";
import { describeConformance } from "./suite.js";

describeConformance({
  name: "tfserving-rest",
  async start() {
    const emulator = await startTfServingEmulator({ grpc: false });
    const adapter = createTfServingAdapter("remote", {
      type: "tfserving",
      url: emulator.restUrl,
      protocol: "rest",
    });
    return { adapter, emulator };
  },
  // TF Serving's JSON codec (util/json_tensor.cc) converts no DT_HALF, DT_UINT16 or DT_BFLOAT16
  // values (501 Unimplemented on input, 400 on output); everything else it carries, int64 exactly.
  datatypes: [
    "BOOL",
    "UINT8",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP32",
    "FP64",
    "BYTES",
  ],
  exact64: true,
});
