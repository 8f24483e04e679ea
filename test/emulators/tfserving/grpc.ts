/**
 * The emulator's gRPC API, TF Serving's tensorflow_serving/apis: PredictionService (Predict,
 * GetModelMetadata with the Any-packed SignatureDefMap) and ModelService (GetModelStatus), loaded
 * from the project's protos with the emulators' own loader (../protos.ts).
 */
import type * as grpc from "@grpc/grpc-js";
import { requestIdOf } from "../control.js";
import { loadServices } from "../protos.js";
import type { FedInput, ServableRequest, TfServingCore } from "./core.js";
import { asTfError, invalidArgument } from "./errors.js";
import { ortFromProto, protoFromOrt, protoShape, type TensorProtoMessage } from "./proto-tensor.js";

interface ModelSpecMessage {
  name: string;
  version: { value: string } | null;
  version_label: string;
  signature_name: string;
  version_choice?: "version" | "version_label";
}

interface PredictRequestMessage {
  model_spec: ModelSpecMessage | null;
  inputs: Record<string, TensorProtoMessage>;
  output_filter: string[];
}

/** The two service definitions. */
export function tfServingServices(): {
  prediction: grpc.ServiceDefinition;
  model: grpc.ServiceDefinition;
} {
  const services = loadServices(
    [
      "tensorflow_serving/apis/prediction_service.proto",
      "tensorflow_serving/apis/model_service.proto",
    ],
    ["tensorflow.serving.PredictionService", "tensorflow.serving.ModelService"],
  );
  return {
    prediction: services["tensorflow.serving.PredictionService"],
    model: services["tensorflow.serving.ModelService"],
  };
}

function servable(spec: ModelSpecMessage | null): ServableRequest {
  if (spec === null || spec.name === "") throw invalidArgument("Missing ModelSpec");
  const req: ServableRequest = { model: spec.name };
  if (spec.version_choice === "version" && spec.version !== null) req.version = spec.version.value;
  if (spec.version_choice === "version_label") req.label = spec.version_label;
  return req;
}

function fail(callback: grpc.sendUnaryData<unknown>, err: unknown): void {
  const e = asTfError(err);
  callback({ code: e.grpcCode, details: e.message });
}

/** The implementations, answering with tensor_content when `tensorContent`. */
export function tfServingImplementations(core: TfServingCore, tensorContent: boolean) {
  const prediction: grpc.UntypedServiceImplementation = {
    Predict: (
      call: grpc.ServerUnaryCall<PredictRequestMessage, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      const request = call.request;
      let target: ServableRequest;
      try {
        target = servable(request.model_spec);
      } catch (err) {
        fail(callback, err);
        return;
      }
      const record = core.record("grpc", target);
      record.requestId = requestIdOf(call.metadata.get("x-request-id"));
      const gone = new Promise<void>((resolve) => call.on("cancelled", () => resolve()));
      void (async () => {
        try {
          const model = core.find(target);
          core.checkSignature(request.model_spec?.signature_name ?? "");
          const aliases = Object.keys(request.inputs);
          const first = request.inputs[aliases[0] ?? ""];
          record.batchSize = first === undefined ? undefined : protoShape(first)?.[0];
          const fed: FedInput[] = aliases.map((alias) => {
            const proto = request.inputs[alias] as TensorProtoMessage;
            return { alias, dtype: proto.dtype, tensor: ortFromProto(alias, proto) };
          });
          if (!(await core.gate.admit(gone, model.name))) {
            record.cancelled = true;
            return;
          }
          const outputs = await core.predict(model, fed, request.output_filter);
          if (call.cancelled) {
            record.cancelled = true;
            return;
          }
          callback(null, {
            model_spec: {
              name: model.name,
              version: { value: model.version },
              signature_name: "serving_default",
            },
            outputs: Object.fromEntries(
              outputs.map((o) => [o.alias, protoFromOrt(o.tensor, o.dtype, tensorContent)]),
            ),
          });
        } catch (err) {
          if (call.cancelled) record.cancelled = true;
          else fail(callback, err);
        }
      })();
    },
    GetModelMetadata: (
      call: grpc.ServerUnaryCall<
        { model_spec: ModelSpecMessage | null; metadata_field: string[] },
        unknown
      >,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      try {
        const fields = call.request.metadata_field;
        if (fields.length === 0)
          throw invalidArgument("GetModelMetadataRequest must specify at least one metadata_field");
        for (const f of fields) {
          if (f !== "signature_def") throw invalidArgument(`Metadata field ${f} is not supported`);
        }
        const model = core.find(servable(call.request.model_spec));
        callback(null, {
          model_spec: { name: model.name, version: { value: model.version }, signature_name: "" },
          metadata: {
            signature_def: {
              "@type": "type.googleapis.com/tensorflow.serving.SignatureDefMap",
              ...core.signatureDefMap(model),
            },
          },
        });
      } catch (err) {
        fail(callback, err);
      }
    },
  };
  const model: grpc.UntypedServiceImplementation = {
    GetModelStatus: (
      call: grpc.ServerUnaryCall<{ model_spec: ModelSpecMessage | null }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      try {
        const versions = core.statusVersions(servable(call.request.model_spec));
        callback(null, {
          model_version_status: versions.map((version) => ({
            version,
            state: "AVAILABLE",
            status: { error_code: "OK", error_message: "" },
          })),
        });
      } catch (err) {
        fail(callback, err);
      }
    },
  };
  return { prediction, model };
}
