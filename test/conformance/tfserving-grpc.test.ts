/** The conformance suite against the TF Serving adapter over gRPC and the TF Serving emulator. */
import { createTfServingAdapter } from "../../src/backends/tfserving/index.js";
import { DATATYPES } from "../../src/tensor/index.js";
import { startTfServingEmulator } from "../emulators/tfserving/index.js";
import { describeConformance } from "./suite.js";

describeConformance({
  name: "tfserving-grpc",
  async start() {
    const emulator = await startTfServingEmulator({ rest: false });
    const adapter = createTfServingAdapter("remote", {
      type: "tfserving",
      grpc: emulator.grpcAddress,
      protocol: "grpc",
    });
    return { adapter, emulator };
  },
  // TensorProto carries every TensorFlow dtype; onnxruntime computes with all but BF16.
  datatypes: DATATYPES.filter((d) => d !== "BF16"),
  exact64: true,
});
