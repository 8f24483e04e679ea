/** The conformance suite against the Triton adapter over KServe v2 REST and the Triton emulator. */
import { createTritonAdapter } from "../../src/backends/triton/index.js";
import { DATATYPES } from "../../src/tensor/index.js";
import { startTritonEmulator } from "../emulators/triton/index.js";
import { describeConformance } from "./suite.js";

describeConformance({
  name: "triton-rest",
  async start() {
    const emulator = await startTritonEmulator({ grpc: false });
    const adapter = createTritonAdapter("remote", {
      type: "triton",
      url: emulator.restUrl,
      protocol: "rest",
    });
    return { adapter, emulator };
  },
  // Everything KServe v2 defines that onnxruntime computes with (it has no BF16 tensors).
  datatypes: DATATYPES.filter((d) => d !== "BF16"),
  exact64: true,
  arbitraryBytes: "exact",
});
