/**
 * TF Serving over gRPC (tensorflow_serving/apis/prediction_service.proto): `PredictionService/Predict` with TensorProtos,
 * `GetModelMetadata` for the signature (an Any-packed SignatureDefMap) and
 * `ModelService/GetModelStatus` for readiness. Answers are self-describing, so inference needs no
 * metadata.
 */
import * as grpc from "@grpc/grpc-js";
import { BackendError } from "../../errors.js";
import { MAX_UNDECLARED_OUTPUTS } from "../answer-check.js";
import { errorFromGrpcStatus } from "../remote/errors.js";
import { closeClient, guardedClient, unaryCall } from "../remote/grpc-client.js";
import type {
  BackendAdapter,
  BackendCall,
  BackendResult,
  ModelMetadata,
  TargetRef,
} from "../types.js";
import { fromTensorProto, toTensorProto } from "./grpc-codec.js";
import { DEFAULT_SIGNATURE, signatureSpecs, toModelMetadata } from "./metadata.js";
import {
  tfServingMethods,
  type WireMetadataRequest,
  type WireMetadataResponse,
  type WireModelSpec,
  type WirePredictRequest,
  type WirePredictResponse,
  type WireVersionStatus,
} from "./proto.js";

const PROBE_TIMEOUT_MS = 2_000;
const METADATA_TIMEOUT_MS = 5_000;
const SIGNATURE_DEF_MAP_TYPE = "type.googleapis.com/tensorflow.serving.SignatureDefMap";

/** The ModelSpec of a target: digits are a version number, anything else a version label. */
export function modelSpec(target: TargetRef, withSignature: boolean): WireModelSpec {
  const spec: WireModelSpec = { name: target.model };
  const version = target.version;
  if (version !== undefined) {
    if (/^\d+$/.test(version)) spec.version = { value: version };
    else spec.version_label = version;
  }
  if (withSignature) spec.signature_name = target.signature ?? DEFAULT_SIGNATURE;
  return spec;
}

/** A BackendAdapter speaking TF Serving's gRPC API. */
export class TfServingGrpcAdapter implements BackendAdapter {
  readonly type = "tfserving" as const;
  private readonly client: grpc.Client;

  constructor(
    readonly name: string,
    address: string,
    maxResponseBytes?: number,
  ) {
    // One client (one channel) carries both services: each method keeps its own path. The
    // entries of PredictResponse's outputs map (field 1) are bounded before decoding.
    this.client = guardedClient(
      tfServingMethods() as unknown as grpc.ServiceDefinition,
      "TfServing",
      address,
      { method: "Predict", fields: [1], maxEntries: MAX_UNDECLARED_OUTPUTS },
      maxResponseBytes,
    );
  }

  async infer(target: TargetRef, call: BackendCall): Promise<BackendResult> {
    const request: WirePredictRequest = {
      model_spec: modelSpec(target, true),
      inputs: Object.fromEntries(call.inputs.map((t) => [t.name, toTensorProto(t)])),
      output_filter: call.outputs === undefined ? [] : [...call.outputs],
    };
    const res = await unaryCall<WirePredictRequest, WirePredictResponse>(
      this.name,
      this.client,
      "Predict",
      request,
      { deadline: call.deadline, signal: call.signal, requestId: call.requestId },
    );
    const names = call.outputs ?? Object.keys(res.outputs);
    const outputs = names.map((name) => {
      const proto = res.outputs[name];
      if (proto === undefined) {
        throw new BackendError(`backend "${this.name}" answered without output "${name}"`);
      }
      return fromTensorProto(this.name, name, proto);
    });
    const version = res.model_spec?.version?.value;
    return {
      outputs,
      ...(version === undefined ? {} : { modelVersion: String(version) }),
    };
  }

  async metadata(target: TargetRef): Promise<ModelMetadata> {
    const res = await unaryCall<WireMetadataRequest, WireMetadataResponse>(
      this.name,
      this.client,
      "GetModelMetadata",
      { model_spec: modelSpec(target, false), metadata_field: ["signature_def"] },
      { deadline: Date.now() + METADATA_TIMEOUT_MS },
    );
    const packed = res.metadata.signature_def;
    if (packed === undefined || packed["@type"] !== SIGNATURE_DEF_MAP_TYPE) {
      throw new BackendError(
        `backend "${this.name}" metadata for "${target.model}" holds no ${SIGNATURE_DEF_MAP_TYPE}`,
      );
    }
    const specs = signatureSpecs(packed, target.signature ?? DEFAULT_SIGNATURE, target.model);
    const version = res.model_spec?.version?.value;
    return toModelMetadata(
      target.model,
      version === undefined ? target.version : String(version),
      specs,
    );
  }

  async ready(target: TargetRef): Promise<boolean> {
    const answer = await this.status(modelSpec(target, false));
    if (answer.code === grpc.status.NOT_FOUND) return false;
    if (answer.code !== grpc.status.OK) {
      throw errorFromGrpcStatus(this.name, answer.code, answer.details);
    }
    return answer.statuses.some((s) => s.state === "AVAILABLE");
  }

  /** No liveness RPC: every answer of GetModelStatus (NOT_FOUND too) means the server is up. */
  async health(): Promise<boolean> {
    const answer = await this.status({ name: "infergate-health-probe" });
    return !TRANSPORT_FAILURES.has(answer.code);
  }

  async close(): Promise<void> {
    closeClient(this.client);
  }

  /** GetModelStatus with its raw status code (readiness reads NOT_FOUND as "not ready"). */
  private status(spec: WireModelSpec): Promise<StatusAnswer> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        STATUS_PATH,
        (req: { model_spec: WireModelSpec }) => statusMethod().requestSerialize(req),
        (buf: Buffer) => statusMethod().responseDeserialize(buf),
        { model_spec: spec },
        new grpc.Metadata(),
        { deadline: Date.now() + PROBE_TIMEOUT_MS },
        (err, res) => {
          if (err === null && res !== undefined) {
            resolve({ code: grpc.status.OK, details: "", statuses: res.model_version_status });
          } else {
            resolve({
              code: err?.code ?? grpc.status.UNKNOWN,
              details: err?.details ?? "",
              statuses: [],
            });
          }
        },
      );
    });
  }
}

interface StatusAnswer {
  code: number;
  details: string;
  statuses: WireVersionStatus[];
}

const STATUS_PATH = "/tensorflow.serving.ModelService/GetModelStatus";

function statusMethod() {
  return tfServingMethods().GetModelStatus;
}

/** Codes that mean the server did not answer (rather than answered "no"). */
const TRANSPORT_FAILURES: ReadonlySet<number> = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.CANCELLED,
  grpc.status.UNKNOWN,
]);
