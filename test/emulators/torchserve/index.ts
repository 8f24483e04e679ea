/**
 * A TorchServe emulator: the inference REST API and the gRPC InferenceAPIsService on ephemeral
 * ports, with a built-in handler implementing the gateway's JSON convention (docs/backends.md) over
 * onnxruntime for every model in models/. As strict as TorchServe: its status codes, error bodies,
 * token check and no management API on the inference port. Implements EmulatorControl for the
 * conformance suites.
 */

import type { EmulatorControl } from "../control.js";
import { type EmulatorOptions, startEmulator } from "../host.js";
import { TORCHSERVE_OUTPUTS } from "../hostile.js";
import { Engine } from "./engine.js";
import { inferenceImplementation } from "./grpc.js";
import { inferenceService } from "./proto.js";
import { restHandler } from "./rest.js";

/** Options of startTorchServeEmulator. */
export interface TorchServeEmulatorOptions extends EmulatorOptions {
  /** When set, every call needs `Authorization: Bearer <token>` (metadata `authorization`). */
  token?: string;
}

/** Starts the emulator; every port is ephemeral on 127.0.0.1. */
export function startTorchServeEmulator(
  options: TorchServeEmulatorOptions = {},
): Promise<EmulatorControl> {
  return startEmulator(options, (runner) => {
    const engine = new Engine(runner, options.token);
    return {
      gate: engine.gate,
      rest: restHandler(engine),
      restKeepAliveMs: 60_000,
      grpc: () => [
        { definition: inferenceService(), implementation: inferenceImplementation(engine) },
      ],
      grpcMaxMessageBytes: 64 * 1024 * 1024,
      outputsFormat: TORCHSERVE_OUTPUTS,
    };
  });
}
