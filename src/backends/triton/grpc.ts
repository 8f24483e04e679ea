/**
 * Triton (or any KServe v2 server) over gRPC `inference.GRPCInferenceService`: `ModelInfer` with
 * raw contents, `ModelMetadata`, `ModelReady`, `ServerLive`. One client (one channel) per backend.
 */
import type * as grpc from "@grpc/grpc-js";
import { GatewayError } from "../../errors.js";
import {
  KSERVE_SERVICE_NAME,
  kserveService,
  type WireEmpty,
  type WireModelInferRequest,
  type WireModelInferResponse,
  type WireModelMetadataResponse,
  type WireModelRef,
} from "../../protocols/kserve/proto.js";
import { MAX_UNDECLARED_OUTPUTS } from "../answer-check.js";
import { closeClient, guardedClient, unaryCall } from "../remote/grpc-client.js";
import type {
  BackendAdapter,
  BackendCall,
  BackendResult,
  ModelMetadata,
  TargetRef,
} from "../types.js";
import { buildGrpcInferRequest, readGrpcInferResponse } from "./grpc-codec.js";
import { CONTROL_TIMEOUT_MS, metadataFrom } from "./wire.js";

/** A Triton backend reached over gRPC at `host:port`. */
export class TritonGrpcAdapter implements BackendAdapter {
  readonly type = "triton";
  private readonly client: grpc.Client;

  constructor(
    readonly name: string,
    address: string,
    maxResponseBytes?: number,
  ) {
    // ModelInferResponse: outputs (5) and raw_output_contents (6), bounded before decoding.
    this.client = guardedClient(
      kserveService().definition,
      KSERVE_SERVICE_NAME,
      address,
      { method: "ModelInfer", fields: [5, 6], maxEntries: MAX_UNDECLARED_OUTPUTS },
      maxResponseBytes,
    );
  }

  async infer(target: TargetRef, call: BackendCall): Promise<BackendResult> {
    const request = buildGrpcInferRequest(target, call);
    const response = await unaryCall<WireModelInferRequest, WireModelInferResponse>(
      this.name,
      this.client,
      "ModelInfer",
      request,
      { deadline: call.deadline, signal: call.signal, requestId: call.requestId },
    );
    return readGrpcInferResponse(this.name, response);
  }

  async metadata(target: TargetRef): Promise<ModelMetadata> {
    const response = await unaryCall<WireModelRef, WireModelMetadataResponse>(
      this.name,
      this.client,
      "ModelMetadata",
      { name: target.model, version: target.version ?? "" },
      { deadline: Date.now() + CONTROL_TIMEOUT_MS },
    );
    return metadataFrom(this.name, target.model, response);
  }

  async ready(target: TargetRef): Promise<boolean> {
    try {
      const response = await unaryCall<WireModelRef, { ready: boolean }>(
        this.name,
        this.client,
        "ModelReady",
        { name: target.model, version: target.version ?? "" },
        { deadline: Date.now() + CONTROL_TIMEOUT_MS },
      );
      return response.ready === true;
    } catch (err) {
      // An unreachable or failing backend has no ready model; anything else is a bug.
      if (err instanceof GatewayError) return false;
      throw err;
    }
  }

  async health(): Promise<boolean> {
    try {
      const response = await unaryCall<WireEmpty, { live: boolean }>(
        this.name,
        this.client,
        "ServerLive",
        {},
        { deadline: Date.now() + CONTROL_TIMEOUT_MS },
      );
      return response.live === true;
    } catch (err) {
      if (err instanceof GatewayError) return false;
      throw err;
    }
  }

  async close(): Promise<void> {
    closeClient(this.client);
  }
}
