/**
 * A Triton Inference Server emulator: KServe v2 REST and gRPC on 127.0.0.1 ephemeral ports,
 * computing with real onnxruntime sessions on models/, as strict as Triton about what it accepts,
 * with the EmulatorControl switches (modes, kill, restart) of every emulator.
 */
import type { EmulatorControl } from "../control.js";
import { type EmulatorOptions, startEmulator } from "../host.js";
import { KSERVE_OUTPUTS } from "../hostile.js";
import { TritonCore } from "./core.js";
import { grpcImplementation, tritonServiceDefinition } from "./grpc.js";
import { restHandler } from "./rest.js";

/** Options of the Triton emulator (`rest` / `grpc`: serve KServe v2 REST / gRPC). */
export type TritonEmulatorOptions = EmulatorOptions;

/** Starts a Triton emulator serving both protocols unless told otherwise. */
export function startTritonEmulator(options: TritonEmulatorOptions = {}): Promise<EmulatorControl> {
  return startEmulator(options, (runner) => {
    const core = new TritonCore(runner);
    return {
      gate: core.gate,
      rest: restHandler(core),
      restKeepAliveMs: 30_000,
      grpc: () => [
        { definition: tritonServiceDefinition(), implementation: grpcImplementation(core) },
      ],
      grpcMaxMessageBytes: 256 * 1024 * 1024,
      outputsFormat: KSERVE_OUTPUTS,
    };
  });
}
