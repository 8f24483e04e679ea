/** The conformance suite against the TorchServe adapter over REST, on the TorchServe emulator. */
import { createTorchServeAdapter } from "../../src/backends/torchserve/index.js";
import { startTorchServeEmulator } from "../emulators/torchserve/index.js";
import { describeConformance } from "./suite.js";
import { declareTorchServe, TORCHSERVE_DATATYPES } from "./torchserve-declared.js";

describeConformance({
  name: "torchserve-rest",
  start: async () => {
    const emulator = await startTorchServeEmulator({ grpc: false, token: "conformance-token" });
    const adapter = createTorchServeAdapter("remote", {
      type: "torchserve",
      url: emulator.restUrl ?? "",
      protocol: "rest",
      token: "conformance-token",
    });
    return { adapter, emulator };
  },
  datatypes: TORCHSERVE_DATATYPES,
  exact64: true,
  declare: declareTorchServe,
  perModelReadiness: false,
});
