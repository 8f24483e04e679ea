/**
 * The emulator's KServe v2 gRPC service as Triton's grpc server implements it: raw and typed
 * contents never mixed, raw sizes checked, answers always in `raw_output_contents`, statuses from
 * Triton's error codes. The proto is loaded with the emulators' own loader (../protos.ts), not
 * through src/.
 */

import type * as grpc from "@grpc/grpc-js";
import { requestIdOf } from "../control.js";
import { type HostileAnswer, hostileOutputName } from "../hostile.js";
import { loadServices } from "../protos.js";
import { ortToRaw, rawToOrt, type TypedContents, typedToOrt } from "./convert.js";
import type { TritonCore, WireInput } from "./core.js";
import { GRPC_CODE, invalidArg, TritonError } from "./errors.js";

interface InferInput {
  name: string;
  datatype: string;
  shape: string[];
  contents: TypedContents | null;
}

interface InferRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: InferInput[];
  outputs: { name: string }[];
  raw_input_contents: Buffer[];
  parameters: Record<string, WireParameter>;
}

/** An `InferParameter` as the loader decodes it (`oneofs`: the choice is named). */
type WireParameter = Record<string, unknown> & { parameter_choice?: string };

/** Request parameters as plain values (int64 as numbers). */
function plainParameters(wire: Record<string, WireParameter>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(wire).flatMap(([key, p]) => {
      const choice = p.parameter_choice;
      if (choice === undefined) return [];
      const v = p[choice];
      return [[key, choice.endsWith("64_param") ? Number(v) : v]];
    }),
  );
}

/** Plain values as `InferParameter`s. */
function wireParameters(plain: Readonly<Record<string, unknown>> | undefined) {
  return Object.fromEntries(
    Object.entries(plain ?? {}).map(([key, v]) => [
      key,
      typeof v === "boolean"
        ? { bool_param: v }
        : typeof v === "number"
          ? { int64_param: String(v) }
          : { string_param: String(v) },
    ]),
  );
}

interface ModelRef {
  name: string;
  version: string;
}

const SERVICE = "inference.GRPCInferenceService";
let service: grpc.ServiceDefinition | undefined;

/** The service definition, loaded once. */
export function tritonServiceDefinition(): grpc.ServiceDefinition {
  service ??= passEncodedAnswers(loadServices("kserve/grpc_service.proto", [SERVICE])[SERVICE]);
  return service;
}

/**
 * ModelInfer answering an already encoded message as is: hostile answers are encoded by hand,
 * since encoding a million outputs through protobufjs would take the emulator seconds.
 */
function passEncodedAnswers(
  definition: grpc.ServiceDefinition | undefined,
): grpc.ServiceDefinition {
  const infer = definition?.ModelInfer;
  if (definition === undefined || infer === undefined)
    throw new Error(`${SERVICE} lacks ModelInfer`);
  const encode = infer.responseSerialize;
  return {
    ...definition,
    ModelInfer: {
      ...infer,
      responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : encode(value)),
    },
  };
}

function fail(callback: grpc.sendUnaryData<unknown>, err: unknown): void {
  const e =
    err instanceof TritonError
      ? err
      : new TritonError("INTERNAL", err instanceof Error ? err.message : String(err));
  callback({
    code: GRPC_CODE[e.code],
    details: e.message,
    name: "TritonError",
    message: e.message,
  });
}

function shapeOf(input: InferInput): number[] {
  return input.shape.map((d) => {
    const n = Number(d);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw invalidArg(`invalid shape dimension ${d} for input '${input.name}'`);
    }
    return n;
  });
}

/** Triton's rule: raw contents for every input or for none; never `contents` alongside raw. */
function wireInputs(request: InferRequest): WireInput[] {
  const raw = request.raw_input_contents;
  const model = request.model_name;
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw invalidArg(
      `expected ${request.inputs.length} inputs but got ${raw.length} raw_input_contents for model '${model}'`,
    );
  }
  return request.inputs.map((input, i): WireInput => {
    const shape = shapeOf(input);
    const { name, datatype } = input;
    const blob = raw[i];
    if (blob !== undefined) {
      if (input.contents !== null) {
        throw invalidArg(
          `contents field must not be specified when using raw_input_contents for '${name}' for model '${model}'`,
        );
      }
      return {
        name,
        datatype,
        shape,
        raw: blob,
        decode: (at) => rawToOrt(datatype, shape, blob, at),
      };
    }
    const contents = input.contents;
    if (contents === null) {
      throw invalidArg(
        `input '${name}' has no contents and no raw_input_contents for model '${model}'`,
      );
    }
    return { name, datatype, shape, decode: (at) => typedToOrt(datatype, shape, contents, at) };
  });
}

/** The service implementation over the shared core. */
export function grpcImplementation(core: TritonCore): grpc.UntypedServiceImplementation {
  const ModelInfer = (
    call: grpc.ServerUnaryCall<InferRequest, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ) => {
    const request = call.request;
    const gone = new Promise<void>((resolveGone) => call.on("cancelled", () => resolveGone()));
    const run = async () => {
      const found = core.find(request.model_name, request.model_version);
      const inputs = wireInputs(request);
      const record = core.record(
        "grpc",
        request.model_name,
        request.model_version,
        inputs[0]?.shape[0],
      );
      record.requestId = requestIdOf(call.metadata.get("x-request-id"));
      // grpc-js also emits 'cancelled' when an answered call's stream closes: only a call still
      // unanswered was abandoned by its client.
      let answered = false;
      void gone.then(() => {
        if (!answered) record.cancelled = true;
      });
      if (call.cancelled) record.cancelled = true;
      if (!(await core.gate.admit(gone, found.name))) return;
      const hostile = core.gate.hostile;
      if (hostile !== undefined) {
        answered = true;
        callback(null, hostileInferResponse(found.name, hostile));
        return;
      }
      const requested = request.outputs.map((o) => o.name);
      const { outputs, parameters } = await core.infer(
        found,
        inputs,
        requested.length > 0 ? requested : undefined,
        plainParameters(request.parameters),
      );
      if (call.cancelled) return;
      answered = true;
      callback(null, {
        model_name: found.name,
        model_version: found.version,
        id: request.id,
        parameters: wireParameters(parameters),
        outputs: outputs.map((o) => ({
          name: o.name,
          datatype: o.datatype,
          shape: o.shape,
          parameters: wireParameters(o.parameters),
        })),
        raw_output_contents: outputs.map((o) => o.raw ?? ortToRaw(o.tensor)),
      });
    };
    run().catch((err: unknown) => fail(callback, err));
  };

  const lookup = (ref: ModelRef) => core.find(ref.name, ref.version);

  return {
    ServerLive: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { live: true }),
    ServerReady: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { ready: true }),
    ServerMetadata: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { name: "triton", version: "2.50.0", extensions: ["binary_tensor_data"] }),
    ModelReady: (
      call: grpc.ServerUnaryCall<ModelRef, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      let ready = true;
      try {
        lookup(call.request);
      } catch {
        ready = false;
      }
      callback(null, { ready });
    },
    ModelMetadata: (
      call: grpc.ServerUnaryCall<ModelRef, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      try {
        callback(null, core.metadata(lookup(call.request)));
      } catch (err) {
        fail(callback, err);
      }
    },
    ModelInfer,
  };
}

/**
 * An encoded ModelInferResponse for a hostile mode: `manyOutputs` lists that many FP32 [1]
 * outputs (field 5) with a 4-byte raw content each (field 6); `hugeBody` one output of about that
 * many bytes. Other modes are REST-only and answer an empty response.
 */
function hostileInferResponse(model: string, hostile: HostileAnswer): Buffer {
  const parts: Buffer[] = [field(1, Buffer.from(model))];
  if (hostile.kind === "manyOutputs") {
    // Written into one buffer: a million small Buffer.concat calls would take seconds.
    const out = Buffer.alloc(hostile.count * 64);
    let at = 0;
    for (let i = 0; i < hostile.count; i++) {
      const name = hostileOutputName(i, hostile.duplicateNames);
      // Field 5 { 1: name, 2: "FP32", 3: [1] }: every length fits one varint byte.
      out[at++] = 0x2a;
      out[at++] = 2 + name.length + 6 + 3;
      out[at++] = 0x0a;
      out[at++] = name.length;
      at += out.write(name, at, "latin1");
      at += out.write("\x12\x04FP32\x1a\x01\x01", at, "latin1");
    }
    parts.push(out.subarray(0, at), Buffer.alloc(hostile.count * 6).fill(RAW_ZERO));
  } else if (hostile.kind === "hugeBody") {
    const n = Math.floor(hostile.bytes / 4);
    parts.push(field(5, output("out", n)), field(6, Buffer.alloc(n * 4)));
  }
  return Buffer.concat(parts);
}

/** Field 6 holding four zero bytes: one output's raw content. */
const RAW_ZERO = Buffer.from([0x32, 0x04, 0, 0, 0, 0]);

/** An InferOutputTensor: name, datatype FP32, shape [n] (packed). */
function output(name: string, n: number): Buffer {
  return Buffer.concat([
    field(1, Buffer.from(name)),
    field(2, Buffer.from("FP32")),
    field(3, varint(n)),
  ]);
}

/** A length-delimited field. */
function field(number: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint(number * 8 + 2), varint(bytes.length), bytes]);
}

function varint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}
