/**
 * Canonical calls <-> KServe v2 REST infer bodies as a client, with the binary tensor extension:
 * every input goes as a binary blob after the JSON header (`binary_data_size`), and outputs are
 * asked for as binary; an answer may still be plain JSON, which is read too.
 */
import { BackendError } from "../../errors.js";
import { isRecord } from "../../is-record.js";
import {
  binaryBody,
  type NamedTensor,
  tensorFromJsonData,
  tensorFromRaw,
  tensorToRaw,
} from "../../tensor/index.js";

import { readAnswerParameters, restParameters } from "../../triton/parameters.js";
import type { BackendCall, BackendResult, TargetRef } from "../types.js";
import { datatypeFrom, fromBackend, shapeFrom } from "./wire.js";

/** Header giving the byte length of the JSON part of a body with binary tensors. */

/** Stateless (no `stream` option), so one of each serves every call. */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `/v2/models/{m}[/versions/{v}]`, with both parts URL-encoded. */
export function modelPath(target: TargetRef): string {
  const base = `/v2/models/${encodeURIComponent(target.model)}`;
  return target.version === undefined
    ? base
    : `${base}/versions/${encodeURIComponent(target.version)}`;
}

/** An encoded infer request body. */
export interface RestInferBody {
  body: Uint8Array;
  /** Byte length of the JSON part (the `Inference-Header-Content-Length` value). */
  jsonLength: number;
}

/** Builds the JSON header plus the inputs' binary blobs, in input order. */
export function buildRestInferRequest(call: BackendCall): RestInferBody {
  const blobs = call.inputs.map((t) => tensorToRaw(t));
  const header: Record<string, unknown> = {
    inputs: call.inputs.map((t, i) => ({
      name: t.name,
      shape: t.shape,
      datatype: t.datatype,
      parameters: {
        ...restParameters(call.tensorParameters?.inputs?.[t.name]),
        binary_data_size: blobs[i]?.byteLength ?? 0,
      },
    })),
    parameters: { ...restParameters(call.parameters), binary_data_output: true },
  };
  if (call.id !== undefined) header.id = call.id;
  if (call.outputs !== undefined) {
    header.outputs = call.outputs.map((name) => ({
      name,
      parameters: { ...restParameters(call.tensorParameters?.outputs?.[name]), binary_data: true },
    }));
  }
  const json = encoder.encode(JSON.stringify(header));
  return { body: binaryBody(json, blobs), jsonLength: json.byteLength };
}

/** Parses JSON the backend sent; failure is the backend's fault. */
function parseBackendJson(backend: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BackendError(`backend "${backend}" sent invalid JSON`, { cause: err });
  }
}

/** Splits an answer at `Inference-Header-Content-Length` (absent = all JSON). */
function splitBody(
  backend: string,
  body: Uint8Array,
  headerValue: string | undefined,
): { json: unknown; binary: Uint8Array } {
  if (headerValue === undefined) {
    return { json: parseBackendJson(backend, decoder.decode(body)), binary: new Uint8Array(0) };
  }
  const length = /^\s*\d+\s*$/.test(headerValue) ? Number(headerValue) : Number.NaN;
  if (!(length <= body.byteLength)) {
    throw new BackendError(
      `backend "${backend}" sent Inference-Header-Content-Length ${headerValue} for a ${body.byteLength}-byte body`,
    );
  }
  return {
    json: parseBackendJson(backend, decoder.decode(body.subarray(0, length))),
    binary: body.subarray(length),
  };
}

/** Reads an infer answer: JSON outputs, binary ones (`binary_data_size`, in output order), or both. */
export function readRestInferResponse(
  backend: string,
  body: Uint8Array,
  headerValue: string | undefined,
): BackendResult {
  const { json, binary } = splitBody(backend, body, headerValue);
  if (!isRecord(json) || !Array.isArray(json.outputs)) {
    throw new BackendError(`backend "${backend}" answered without an "outputs" list`);
  }
  let offset = 0;
  const outputs = json.outputs.map((raw: unknown, i): NamedTensor => {
    if (!isRecord(raw) || typeof raw.name !== "string") {
      throw new BackendError(`backend "${backend}" sent a malformed outputs[${i}]`);
    }
    const what = `output "${raw.name}"`;
    const datatype = datatypeFrom(backend, raw.datatype, what);
    const shape = shapeFrom(backend, raw.shape, what, false);
    const size = isRecord(raw.parameters) ? raw.parameters.binary_data_size : undefined;
    let tensor: ReturnType<typeof tensorFromRaw>;
    if (size !== undefined) {
      if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
        throw new BackendError(`backend "${backend}" sent a bad binary_data_size for ${what}`);
      }
      if (offset + size > binary.byteLength) {
        throw new BackendError(`backend "${backend}": ${what} runs past the end of the body`);
      }
      const blob = binary.subarray(offset, offset + size);
      offset += size;
      tensor = fromBackend(backend, what, () => tensorFromRaw(datatype, shape, blob));
    } else {
      tensor = fromBackend(backend, what, () => tensorFromJsonData(datatype, shape, raw.data));
    }
    return { name: raw.name, datatype: tensor.datatype, shape: tensor.shape, data: tensor.data };
  });
  if (offset !== binary.byteLength) {
    throw new BackendError(
      `backend "${backend}" sent ${binary.byteLength - offset} bytes of binary data no output claims`,
    );
  }
  const version = json.model_version;
  const parameters = readAnswerParameters(json.parameters, json.outputs.filter(isRecord));
  return typeof version === "string" && version !== ""
    ? { outputs, modelVersion: version, ...parameters }
    : { outputs, ...parameters };
}

/** The message of a KServe v2 error body `{"error": "..."}`, else the body text itself. */
export function errorMessageOf(body: Uint8Array): string {
  const text = decoder.decode(body);
  try {
    const json: unknown = JSON.parse(text);
    if (isRecord(json) && typeof json.error === "string") return json.error;
  } catch {
    // Not JSON: a proxy's or a crashed server's page; its text is the best message there is.
  }
  return text.slice(0, 500).trim();
}

/** Parses a JSON answer (metadata) of the backend. */
export function parseJsonBody(backend: string, body: Uint8Array): unknown {
  return parseBackendJson(backend, decoder.decode(body));
}
