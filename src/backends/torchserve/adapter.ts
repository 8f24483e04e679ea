/**
 * The TorchServe backend (docs/backends.md): predictions through the JSON convention over REST or gRPC,
 * tensors described by the target's declared inputs/outputs (TorchServe publishes none), health
 * from `/ping` / `Ping`. The management API is never called.
 */
import { BackendError } from "../../errors.js";
import type {
  BackendAdapter,
  BackendCall,
  BackendResult,
  ModelMetadata,
  TargetRef,
} from "../types.js";
import { decodeOutputs, encodeInputs } from "./codec.js";
import type { TorchServeTransport } from "./transport.js";

/** How long a health probe may take (health() has no caller deadline). */
const PING_TIMEOUT_MS = 5_000;

/** An adapter over one TorchServe protocol. */
export class TorchServeAdapter implements BackendAdapter {
  readonly type = "torchserve" as const;

  constructor(
    readonly name: string,
    private readonly transport: TorchServeTransport,
  ) {}

  async infer(target: TargetRef, call: BackendCall): Promise<BackendResult> {
    const body = encodeInputs(call.inputs, target.inputs);
    const text = await this.transport.predict({
      model: target.model,
      version: target.version,
      body,
      deadline: call.deadline,
      signal: call.signal,
      requestId: call.requestId,
    });
    const outputs = decodeOutputs(this.name, text, target.outputs, call.outputs);
    return target.version === undefined ? { outputs } : { outputs, modelVersion: target.version };
  }

  /** The declared tensors: TorchServe has no metadata API on its inference port. */
  async metadata(target: TargetRef): Promise<ModelMetadata> {
    if (target.inputs === undefined || target.outputs === undefined) {
      throw new BackendError(
        `backend "${this.name}" is TorchServe, which publishes no model metadata: the target of ` +
          `model "${target.model}" must declare its inputs and outputs`,
      );
    }
    return {
      name: target.model,
      versions: target.version === undefined ? [] : [target.version],
      platform: "torchserve",
      inputs: target.inputs,
      outputs: target.outputs,
    };
  }

  /**
   * TorchServe's inference API has no per-model readiness (only the management API describes
   * models and their workers, and the gateway never calls it), so a model is taken as ready when
   * the server is healthy; an unknown model surfaces as BACKEND_ERROR on its first call.
   */
  async ready(_target: TargetRef): Promise<boolean> {
    return this.health();
  }

  async health(): Promise<boolean> {
    return this.transport.ping(Date.now() + PING_TIMEOUT_MS);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
