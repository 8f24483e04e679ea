/**
 * The EmulatorControl every emulator returns: its REST and gRPC listeners, the mode gate and call
 * record, and kill/restart/close over them. The emulators differ only in the handlers they serve.
 */
import { createServer, type Server as HttpServer, type RequestListener } from "node:http";
import type { CallRecord, EmulatorControl, EmulatorMode } from "./control.js";
import { type OutputsFormat, withHostileAnswers } from "./hostile.js";
import { GrpcListener, type GrpcService, KillableListener } from "./listeners.js";
import type { ModeGate } from "./mode-gate.js";
import { ModelRunner } from "./runner.js";

/** The options every emulator takes. */
export interface EmulatorOptions {
  /** Shared model runner; default: a new one on models/ (closed with the emulator). */
  runner?: ModelRunner;
  /** Serve the REST API (default true). */
  rest?: boolean;
  /** Serve the gRPC API (default true). */
  grpc?: boolean;
}

/** One emulator's servers over its model runner: what makes it Triton, TF Serving or TorchServe. */
export interface EmulatorServers {
  /** The call record and mode switches its handlers go through. */
  gate: ModeGate;
  /** The REST API's request handler. */
  rest: RequestListener;
  /** How long an idle REST connection stays open, as in the real server. */
  restKeepAliveMs: number;
  /** The gRPC services (only asked for when gRPC is served). */
  grpc(): GrpcService[];
  /** The largest gRPC message received or sent. */
  grpcMaxMessageBytes: number;
  /** How its JSON answers list outputs, for hostile `manyOutputs` answers over REST. */
  outputsFormat: OutputsFormat;
}

interface EmulatorParts {
  gate: ModeGate;
  http: HttpServer | undefined;
  grpc: GrpcListener | undefined;
  /** Runs last on close() (closing a model runner the emulator owns). */
  dispose: (() => Promise<void>) | undefined;
}

class EmulatorHost implements EmulatorControl {
  private readonly rest: KillableListener | undefined;
  private closed = false;

  constructor(private readonly parts: EmulatorParts) {
    this.rest = parts.http === undefined ? undefined : new KillableListener(parts.http);
  }

  get restUrl(): string | undefined {
    return this.rest === undefined ? undefined : `http://127.0.0.1:${this.rest.port}`;
  }

  get grpcAddress(): string | undefined {
    const grpc = this.parts.grpc;
    return grpc === undefined ? undefined : `127.0.0.1:${grpc.port}`;
  }

  get calls(): CallRecord[] {
    return this.parts.gate.calls;
  }

  setMode(mode: EmulatorMode): void {
    this.parts.gate.setMode(mode);
  }

  async start(): Promise<void> {
    await this.rest?.listen();
    await this.parts.grpc?.listen();
  }

  async kill(): Promise<void> {
    await Promise.all([this.rest?.kill(), this.parts.grpc?.kill()]);
    this.parts.gate.releaseStalled();
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.kill();
    await this.parts.grpc?.close();
    await this.parts.dispose?.();
  }
}

/**
 * Starts an emulator: loads a model runner unless given one, builds its servers, listens on
 * ephemeral ports of 127.0.0.1 and returns the control surface.
 */
export async function startEmulator(
  options: EmulatorOptions,
  build: (runner: ModelRunner) => EmulatorServers,
): Promise<EmulatorControl> {
  const runner = options.runner ?? (await ModelRunner.load());
  const servers = build(runner);
  let http: HttpServer | undefined;
  if (options.rest !== false) {
    const gate = servers.gate;
    http = createServer(
      withHostileAnswers(servers.rest, () => gate.hostile, servers.outputsFormat),
    );
    http.keepAliveTimeout = servers.restKeepAliveMs;
  }
  const grpc =
    options.grpc === false
      ? undefined
      : new GrpcListener(servers.grpc(), servers.grpcMaxMessageBytes);
  const host = new EmulatorHost({
    gate: servers.gate,
    http,
    grpc,
    dispose: options.runner === undefined ? () => runner.close() : undefined,
  });
  await host.start();
  return host;
}
