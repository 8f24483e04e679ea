/**
 * TorchServe's gRPC `InferenceAPIsService`: `Predictions` carries the JSON request in
 * `input["data"]` and the handler's answer in `prediction`; `Ping` answers a JSON health document.
 * The token travels as the `authorization` metadata TorchServe's interceptor checks.
 */
import * as grpc from "@grpc/grpc-js";
import { GatewayError } from "../../errors.js";
import { channelOptions, closeClient, unaryCall } from "../remote/grpc-client.js";
import { checkJsonStructure } from "../remote/json-guard.js";
import { fromTorchServeGrpc } from "./errors.js";
import {
  torchServeClientClass,
  type WireHealthResponse,
  type WirePredictionResponse,
  type WirePredictionsRequest,
} from "./proto.js";
import type { PredictionCall, TorchServeTransport } from "./transport.js";

/** Options of the gRPC transport. */
export interface TorchServeGrpcOptions {
  /** `host:port`. */
  address: string;
  token: string | undefined;
  maxResponseBytes: number | undefined;
}

/** The gRPC protocol over one client (one channel) per backend. */
export class TorchServeGrpc implements TorchServeTransport {
  private readonly client: grpc.Client;
  private readonly metadata: Record<string, string>;

  constructor(
    private readonly backend: string,
    options: TorchServeGrpcOptions,
  ) {
    const Client = torchServeClientClass();
    this.client = new Client(
      options.address,
      grpc.credentials.createInsecure(),
      channelOptions(options.maxResponseBytes),
    );
    this.metadata = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
  }

  async predict(call: PredictionCall): Promise<string> {
    const request: WirePredictionsRequest = {
      model_name: call.model,
      model_version: call.version ?? "",
      input: { data: Buffer.from(call.body, "utf8") },
    };
    try {
      const res = await unaryCall<WirePredictionsRequest, WirePredictionResponse>(
        this.backend,
        this.client,
        "Predictions",
        request,
        {
          deadline: call.deadline,
          signal: call.signal,
          metadata: this.metadata,
          requestId: call.requestId,
        },
      );
      checkJsonStructure(this.backend, res.prediction);
      return res.prediction.toString("utf8");
    } catch (err) {
      throw err instanceof GatewayError ? fromTorchServeGrpc(err) : err;
    }
  }

  async ping(deadline: number): Promise<boolean> {
    try {
      const res = await unaryCall<Record<string, never>, WireHealthResponse>(
        this.backend,
        this.client,
        "Ping",
        {},
        { deadline, metadata: this.metadata },
      );
      return isHealthy(res.health);
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    closeClient(this.client);
  }
}

/**
 * TorchServe's `health` is a pretty-printed StatusResponse (`{"status": "Healthy"}`); a bare
 * "Healthy" is accepted too. "Unhealthy" contains "Healthy", so the value is compared whole.
 */
export function isHealthy(health: string): boolean {
  try {
    const body: unknown = JSON.parse(health);
    return (
      typeof body === "object" && body !== null && "status" in body && body.status === "Healthy"
    );
  } catch {
    return health.trim() === "Healthy";
  }
}
