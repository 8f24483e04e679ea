/**
 * A TensorFlow Serving emulator: REST and gRPC on 127.0.0.1 ephemeral ports, every model in
 * models/ with its version directories behind one "serving_default" signature whose aliases are
 * the ONNX tensor names, computing with real onnxruntime sessions, as strict as TF Serving about
 * what it accepts, with the EmulatorControl switches (modes, kill, restart) of every emulator.
 * It does not import src/: it checks the adapter rather than sharing its code.
 */
import { createServer, type Server as HttpServer } from "node:http";
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
} from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { CallRecord, EmulatorControl, EmulatorMode } from "../control.js";
import { ModelRunner } from "../runner.js";
import { TfServingCore } from "./core.js";
import { tfServingImplementations, tfServingServices } from "./grpc.js";
import { restHandler } from "./rest.js";

/** Options of the TF Serving emulator. */
export interface TfServingEmulatorOptions {
  /** Shared model runner; default: a new one on models/ (closed with the emulator). */
  runner?: ModelRunner;
  /** Serve the REST API (default true). */
  rest?: boolean;
  /** Serve the gRPC API (default true). */
  grpc?: boolean;
  /** Version labels per model (`{iris: {stable: "1"}}`); TF Serving has none unless configured. */
  labels?: Record<string, Record<string, string>>;
  /** Answer gRPC Predict with tensor_content instead of the typed *_val fields. */
  tensorContent?: boolean;
}

const MAX_MESSAGE = 256 * 1024 * 1024;

function listen(server: HttpServer | TcpServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeHttp(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * grpc-js serves the connections our own TCP listener accepts, so kill() can destroy the sockets
 * as a dying process would (forceShutdown would reset streams politely instead).
 */
class GrpcSide {
  readonly server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE,
    "grpc.max_send_message_length": MAX_MESSAGE,
  });
  readonly tcp: TcpServer;
  private readonly sockets = new Set<Socket>();
  private readonly injector: grpc.ConnectionInjector;

  constructor(core: TfServingCore, tensorContent: boolean) {
    const services = tfServingServices();
    const impl = tfServingImplementations(core, tensorContent);
    this.server.addService(services.prediction, impl.prediction);
    this.server.addService(services.model, impl.model);
    this.injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.tcp = createTcpServer((socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      this.injector.injectConnection(socket);
    });
  }

  async kill(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (!this.tcp.listening) return;
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }

  async close(): Promise<void> {
    await this.kill();
    this.injector.destroy();
    this.server.forceShutdown();
  }
}

class TfServingEmulator implements EmulatorControl {
  restUrl: string | undefined;
  grpcAddress: string | undefined;
  private httpPort = 0;
  private grpcPort = 0;

  constructor(
    private readonly core: TfServingCore,
    private readonly http: HttpServer | undefined,
    private readonly grpcSide: GrpcSide | undefined,
    private readonly ownRunner: boolean,
  ) {}

  get calls(): CallRecord[] {
    return this.core.calls;
  }

  setMode(mode: EmulatorMode): void {
    this.core.mode = { ...mode };
  }

  async start(): Promise<void> {
    if (this.http !== undefined) {
      this.httpPort = await listen(this.http, this.httpPort);
      this.restUrl = `http://127.0.0.1:${this.httpPort}`;
    }
    if (this.grpcSide !== undefined) {
      this.grpcPort = await listen(this.grpcSide.tcp, this.grpcPort);
      this.grpcAddress = `127.0.0.1:${this.grpcPort}`;
    }
  }

  async kill(): Promise<void> {
    await Promise.all([
      this.grpcSide?.kill(),
      this.http === undefined ? undefined : closeHttp(this.http),
    ]);
    this.core.releaseStalled();
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async close(): Promise<void> {
    await this.kill();
    await this.grpcSide?.close();
    if (this.ownRunner) await this.core.runner.close();
  }
}

/** Starts a TF Serving emulator serving REST and gRPC unless told otherwise. */
export async function startTfServingEmulator(
  options: TfServingEmulatorOptions = {},
): Promise<EmulatorControl> {
  const runner = options.runner ?? (await ModelRunner.load());
  const core = new TfServingCore(runner, options.labels);
  const http = options.rest === false ? undefined : createServer(restHandler(core));
  if (http !== undefined) http.keepAliveTimeout = 30_000;
  const grpcSide =
    options.grpc === false ? undefined : new GrpcSide(core, options.tensorContent === true);
  const emulator = new TfServingEmulator(core, http, grpcSide, options.runner === undefined);
  await emulator.start();
  return emulator;
}
