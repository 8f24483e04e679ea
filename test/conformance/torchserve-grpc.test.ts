/** The conformance suite against the TorchServe adapter over gRPC, on the TorchServe emulator. */
import { createTorchServeAdapter } from "../../src/backends/torchserve/index.js";
import { startTorchServeEmulator } from "../emulators/torchserve/index.js";
import { describeConformance } from "./suite.js";
import { declareTorchServe, TORCHSERVE_DATATYPES } from "./torchserve-declared.js";

describeConformance({
  name: "torchserve-grpc",
  start: async () => {
    const emulator = await startTorchServeEmulator({ rest: false, token: "conformance-token" });
    const adapter = createTorchServeAdapter("remote", {
      type: "torchserve",
      grpc: emulator.grpcAddress ?? "",
      protocol: "grpc",
      token: "conformance-token",
    });
    return { adapter, emulator };
  },
  datatypes: TORCHSERVE_DATATYPES,
  exact64: true,
  declare: declareTorchServe,
  perModelReadiness: false,
});
