/**
 * Listeners every emulator serves on: 127.0.0.1, an ephemeral port kept across restarts, and a
 * kill() that destroys every open connection and stops listening, as a killed process would.
 */
import type { Server as HttpServer } from "node:http";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";

/** A TCP (or HTTP) server that can be killed like a process and listen again on its port. */
export class KillableListener {
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;

  constructor(private readonly server: Server | HttpServer) {
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  /** The port it listens on (the same one after a restart); 0 before the first listen(). */
  get port(): number {
    return this.boundPort;
  }

  /** Listens on 127.0.0.1 (an ephemeral port the first time, the same port afterwards). */
  async listen(): Promise<void> {
    if (this.server.listening) return;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once("error", onError);
      this.server.listen(this.boundPort, "127.0.0.1", () => {
        this.server.off("error", onError);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
  }

  /** Stops listening and destroys every open connection at once. */
  async kill(): Promise<void> {
    const closed = this.server.listening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }
}

/** One gRPC service and its handlers. */
export interface GrpcService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

/**
 * A grpc-js server fed by our own TCP listener (connections are injected), so kill() can destroy
 * the sockets themselves as a dying process would: grpc-js' forceShutdown would instead end open
 * calls politely with CANCEL, which no real crash looks like.
 */
export class GrpcListener {
  private readonly server: grpc.Server;
  private readonly injector: grpc.ConnectionInjector;
  private readonly listener: KillableListener;

  constructor(services: readonly GrpcService[], maxMessageBytes: number) {
    this.server = new grpc.Server({
      "grpc.max_receive_message_length": maxMessageBytes,
      "grpc.max_send_message_length": maxMessageBytes,
    });
    for (const service of services) {
      this.server.addService(service.definition, service.implementation);
    }
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.injector = injector;
    this.listener = new KillableListener(
      createServer((socket) => injector.injectConnection(socket)),
    );
  }

  /** The port it listens on; 0 before the first listen(). */
  get port(): number {
    return this.listener.port;
  }

  listen(): Promise<void> {
    return this.listener.listen();
  }

  kill(): Promise<void> {
    return this.listener.kill();
  }

  /** Stops for good. */
  async close(): Promise<void> {
    await this.kill();
    this.injector.destroy();
    this.server.forceShutdown();
  }
}
