/**
 * A TensorFlow Serving emulator: REST and gRPC on 127.0.0.1 ephemeral ports, every model in
 * models/ with its version directories behind one "serving_default" signature whose aliases are
 * the ONNX tensor names, computing with real onnxruntime sessions, as strict as TF Serving about
 * what it accepts, with the EmulatorControl switches (modes, kill, restart) of every emulator.
 * It does not import src/: it checks the adapter rather than sharing its code.
 */
import type { EmulatorControl } from "../control.js";
import { type EmulatorOptions, startEmulator } from "../host.js";
import { TFSERVING_OUTPUTS } from "../hostile.js";
import { TfServingCore } from "./core.js";
import { tfServingImplementations, tfServingServices } from "./grpc.js";
import { restHandler } from "./rest.js";

/** Options of the TF Serving emulator. */
export interface TfServingEmulatorOptions extends EmulatorOptions {
  /** Version labels per model (`{iris: {stable: "1"}}`); TF Serving has none unless configured. */
  labels?: Record<string, Record<string, string>>;
  /** Answer gRPC Predict with tensor_content instead of the typed *_val fields. */
  tensorContent?: boolean;
}

/** Starts a TF Serving emulator serving REST and gRPC unless told otherwise. */
export function startTfServingEmulator(
  options: TfServingEmulatorOptions = {},
): Promise<EmulatorControl> {
  return startEmulator(options, (runner) => {
    const core = new TfServingCore(runner, options.labels);
    return {
      gate: core.gate,
      rest: restHandler(core),
      restKeepAliveMs: 30_000,
      grpc: () => {
        const services = tfServingServices();
        const impl = tfServingImplementations(core, options.tensorContent === true);
        return [
          { definition: services.prediction, implementation: impl.prediction },
          { definition: services.model, implementation: impl.model },
        ];
      },
      grpcMaxMessageBytes: 256 * 1024 * 1024,
      outputsFormat: TFSERVING_OUTPUTS,
    };
  });
}
