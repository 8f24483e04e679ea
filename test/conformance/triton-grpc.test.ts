/** The conformance suite against the Triton adapter over KServe v2 gRPC and the Triton emulator. */
import { createTritonAdapter } from "../../src/backends/triton/index.js";
import { DATATYPES } from "../../src/tensor/index.js";
import { startTritonEmulator } from "../emulators/triton/index.js";
import { describeConformance } from "./suite.js";

describeConformance({
  name: "triton-grpc",
  async start() {
    const emulator = await startTritonEmulator({ rest: false });
    const adapter = createTritonAdapter("remote", {
      type: "triton",
      grpc: emulator.grpcAddress,
      protocol: "grpc",
    });
    return { adapter, emulator };
  },
  // Everything KServe v2 defines that onnxruntime computes with (it has no BF16 tensors).
  datatypes: DATATYPES.filter((d) => d !== "BF16"),
  exact64: true,
  arbitraryBytes: "exact",
});
