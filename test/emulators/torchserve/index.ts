/**
 * A TorchServe emulator: the inference REST API and the gRPC InferenceAPIsService on ephemeral
 * ports, with a built-in handler implementing SPEC 6's JSON convention over onnxruntime for every
 * model in models/. As strict as TorchServe: its status codes, error bodies, token check and no
 * management API on the inference port. Implements EmulatorControl for the conformance suites.
 */
import type { EmulatorControl, EmulatorMode } from "../control.js";
import { ModelRunner } from "../runner.js";
import { Engine } from "./engine.js";
import { GrpcServer } from "./grpc.js";
import { RestServer } from "./rest.js";

/** Options of startTorchServeEmulator. */
export interface TorchServeEmulatorOptions {
  /** Shared model runner (default: a new one on models/, closed with the emulator). */
  runner?: ModelRunner;
  /** Serve the REST API (default true). */
  rest?: boolean;
  /** Serve the gRPC API (default true). */
  grpc?: boolean;
  /** When set, every call needs `Authorization: Bearer <token>` (metadata `authorization`). */
  token?: string;
}

/** Starts the emulator; every port is ephemeral on 127.0.0.1. */
export async function startTorchServeEmulator(
  options: TorchServeEmulatorOptions = {},
): Promise<EmulatorControl> {
  const ownRunner = options.runner === undefined;
  const runner = options.runner ?? (await ModelRunner.load());
  const engine = new Engine(runner, options.token);
  const rest = options.rest === false ? undefined : new RestServer(engine);
  const grpc = options.grpc === false ? undefined : new GrpcServer(engine);
  await rest?.listen();
  await grpc?.listen();
  let closed = false;
  return {
    restUrl: rest?.url,
    grpcAddress: grpc?.address,
    calls: engine.calls,
    setMode(mode: EmulatorMode) {
      engine.mode = mode;
    },
    async kill() {
      await Promise.all([rest?.kill(), grpc?.kill()]);
    },
    async restart() {
      await rest?.listen();
      await grpc?.listen();
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([rest?.kill(), grpc?.close()]);
      if (ownRunner) await runner.close();
    },
  };
}
