/**
 * Canonical calls <-> KServe v2 gRPC `ModelInferRequest` / `ModelInferResponse` as a client: every
 * input travels in `raw_input_contents` (the only form FP16/BF16 have, and Triton's fast path);
 * answers are read from `raw_output_contents`, or from typed `contents` when a server answers so,
 * with the parameters the server set on the answer and its outputs.
 */
import { BackendError } from "../../errors.js";
import { lengthPrefixed, TYPED_FIELD } from "../../protocols/kserve/contents.js";
import type {
  WireInferOutputTensor,
  WireModelInferRequest,
  WireModelInferResponse,
  WireTensorContents,
} from "../../protocols/kserve/proto.js";
import {
  type Datatype,
  type NamedTensor,
  type Tensor,
  tensorFromJsonData,
  tensorFromRaw,
  tensorToRaw,
} from "../../tensor/index.js";
import {
  fromWireParameters,
  readAnswerParameters,
  toWireParameters,
} from "../../triton/parameters.js";
import type { BackendCall, BackendResult, TargetRef } from "../types.js";
import { datatypeFrom, fromBackend, shapeFrom } from "./wire.js";

/** The `ModelInferRequest` for one call; `model_version` "" asks for the latest version. */
export function buildGrpcInferRequest(target: TargetRef, call: BackendCall): WireModelInferRequest {
  return {
    model_name: target.model,
    model_version: target.version ?? "",
    id: call.id ?? "",
    parameters: toWireParameters(call.parameters),
    inputs: call.inputs.map((t) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape.map(String),
      parameters: toWireParameters(call.tensorParameters?.inputs?.[t.name]),
      contents: null,
    })),
    outputs: (call.outputs ?? []).map((name) => ({
      name,
      parameters: toWireParameters(call.tensorParameters?.outputs?.[name]),
    })),
    raw_input_contents: call.inputs.map((t) => tensorToRaw(t)),
  };
}

/** Reads a `ModelInferResponse`; anything malformed is a BackendError. */
export function readGrpcInferResponse(
  backend: string,
  wire: WireModelInferResponse,
): BackendResult {
  const raw = wire.raw_output_contents ?? [];
  if (raw.length > 0 && raw.length !== wire.outputs.length) {
    throw new BackendError(
      `backend "${backend}" answered ${wire.outputs.length} outputs with ${raw.length} raw_output_contents`,
    );
  }
  const outputs = wire.outputs.map((o, i) => readOutput(backend, o, raw[i]));
  const parameters = readAnswerParameters(
    fromWireParameters(wire.parameters),
    wire.outputs.map((o) => ({ name: o.name, parameters: fromWireParameters(o.parameters) })),
  );
  return wire.model_version === "" || wire.model_version === undefined
    ? { outputs, ...parameters }
    : { outputs, modelVersion: wire.model_version, ...parameters };
}

function readOutput(
  backend: string,
  output: WireInferOutputTensor,
  raw: Uint8Array | undefined,
): NamedTensor {
  const what = `output "${output.name}"`;
  const datatype = datatypeFrom(backend, output.datatype, what);
  const shape = shapeFrom(backend, output.shape, what, false);
  const tensor = fromBackend(backend, what, () =>
    raw !== undefined
      ? tensorFromRaw(datatype, shape, raw)
      : fromContents(backend, datatype, shape, output.contents),
  );
  return { name: output.name, datatype: tensor.datatype, shape: tensor.shape, data: tensor.data };
}

function fromContents(
  backend: string,
  datatype: Datatype,
  shape: number[],
  contents: Partial<WireTensorContents> | null,
): Tensor {
  const field = TYPED_FIELD[datatype];
  if (field === undefined) {
    throw new BackendError(`backend "${backend}" sent ${datatype} data outside raw contents`);
  }
  const values = contents?.[field] ?? [];
  if (datatype === "BYTES") {
    return tensorFromRaw(datatype, shape, lengthPrefixed(values as Uint8Array[]));
  }
  return tensorFromJsonData(datatype, shape, values);
}
