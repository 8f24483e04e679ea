/**
 * The emulator's KServe v2 REST API as Triton's http_server.cc serves it: the v2 paths, JSON
 * bodies with the binary tensor extension in and out, `{"error": "..."}` with Triton's statuses.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type CallRecord, requestIdOf } from "../control.js";
import { ELEMENT_SIZE, jsonToOrt, ortToJsonText, ortToRaw, rawToOrt } from "./convert.js";
import type { Answer, TritonCore, WireInput } from "./core.js";
import { HTTP_STATUS, invalidArg, TritonError } from "./errors.js";

/** Triton's default limit on a request body (--http-max-input-size, 64 MiB). */
const MAX_BODY = 64 * 1024 * 1024;
const HEADER = "inference-header-content-length";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function send(res: ServerResponse, status: number, body?: string | Buffer, type?: string): void {
  if (res.writableEnded || res.destroyed) return;
  const headers: Record<string, string | number> = {};
  if (body !== undefined) {
    headers["content-type"] = type ?? "application/json";
    headers["content-length"] = Buffer.byteLength(body);
  } else {
    headers["content-length"] = 0;
  }
  res.writeHead(status, headers);
  res.end(body);
}

function sendError(res: ServerResponse, err: unknown): void {
  const e =
    err instanceof TritonError
      ? err
      : new TritonError("INTERNAL", err instanceof Error ? err.message : String(err));
  send(res, HTTP_STATUS[e.code], JSON.stringify({ error: e.message }));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY) {
      throw invalidArg(`request body too large: more than ${MAX_BODY} bytes`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

/** The request handler of the emulator's HTTP server. */
export function restHandler(core: TritonCore): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(core, req, res).catch((err: unknown) => sendError(res, err));
  };
}

async function route(core: TritonCore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  let parts: string[];
  try {
    parts = path
      .split("/")
      .filter((p) => p !== "")
      .map(decodeURIComponent);
  } catch {
    throw invalidArg("malformed URL encoding in request path");
  }
  const method = req.method ?? "GET";
  const expect = (wanted: string) => {
    if (method !== wanted) throw new MethodNotAllowed();
  };
  try {
    if (parts[0] !== "v2") return notFound(res);
    if (parts.length === 1) {
      expect("GET");
      const body = { name: "triton", version: "2.50.0", extensions: ["binary_tensor_data"] };
      return send(res, 200, JSON.stringify(body));
    }
    if (
      parts[1] === "health" &&
      parts.length === 3 &&
      (parts[2] === "live" || parts[2] === "ready")
    ) {
      expect("GET");
      return send(res, 200);
    }
    if (parts[1] !== "models" || parts.length < 3) return notFound(res);
    const model = parts[2] ?? "";
    let rest = parts.slice(3);
    let version: string | undefined;
    if (rest[0] === "versions") {
      if (rest.length < 2) return notFound(res);
      version = rest[1];
      rest = rest.slice(2);
    }
    if (rest.length === 0) {
      expect("GET");
      return send(res, 200, JSON.stringify(core.metadata(core.find(model, version))));
    }
    if (rest.length !== 1) return notFound(res);
    if (rest[0] === "ready") {
      expect("GET");
      let ready = true;
      try {
        core.find(model, version);
      } catch {
        ready = false;
      }
      return send(res, ready ? 200 : 400);
    }
    if (rest[0] === "infer") {
      expect("POST");
      return await infer(core, req, res, model, version);
    }
    return notFound(res);
  } catch (err) {
    if (err instanceof MethodNotAllowed) {
      return send(res, 405, JSON.stringify({ error: "Method Not Allowed" }));
    }
    throw err;
  }
}

class MethodNotAllowed extends Error {}

function notFound(res: ServerResponse): void {
  send(res, 404, JSON.stringify({ error: "Not Found" }));
}

/** The JSON header and the binary part of an infer body. */
function splitBody(body: Buffer, header: string | undefined): { json: unknown; binary: Buffer } {
  let jsonLength = body.length;
  if (header !== undefined) {
    jsonLength = /^\d+$/.test(header.trim()) ? Number(header) : Number.NaN;
    if (!(jsonLength <= body.length)) {
      throw invalidArg(
        `inference header size should be in range (0, ${body.length}], got: ${header}`,
      );
    }
  }
  try {
    return {
      json: JSON.parse(body.subarray(0, jsonLength).toString("utf8")),
      binary: body.subarray(jsonLength),
    };
  } catch (err) {
    throw invalidArg(
      `failed to parse the request JSON buffer: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

interface ParsedRequest {
  id: string | undefined;
  inputs: WireInput[];
  outputs: { name: string; binary: boolean | undefined }[] | undefined;
  binaryOutput: boolean;
  /** The request's parameters other than binary_data_output. */
  parameters: Record<string, unknown>;
}

function parseInfer(json: unknown, binary: Buffer): ParsedRequest {
  if (!isRecord(json)) throw invalidArg("failed to parse the request JSON buffer: not an object");
  if (!Array.isArray(json.inputs)) {
    throw invalidArg("Unable to parse 'inputs': attempt to access non-existing object member");
  }
  let offset = 0;
  const inputs = json.inputs.map((raw: unknown): WireInput => {
    if (!isRecord(raw)) throw invalidArg("Unable to parse 'inputs': expected an object");
    const { name, datatype, shape } = raw;
    if (typeof name !== "string") throw invalidArg("Unable to parse 'name'");
    if (typeof datatype !== "string" || ELEMENT_SIZE[datatype] === undefined) {
      throw invalidArg(`invalid datatype for input '${name}'`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw invalidArg(`Unable to parse 'shape' for input '${name}'`);
    }
    const dims = shape as number[];
    const params = isRecord(raw.parameters) ? raw.parameters : {};
    const size = params.binary_data_size;
    if (size !== undefined) {
      if (!Number.isSafeInteger(size) || (size as number) < 0) {
        throw invalidArg(`Unable to parse 'binary_data_size' for input '${name}'`);
      }
      const end = offset + (size as number);
      if (end > binary.length) {
        throw invalidArg(
          `unexpected size for input '${name}', expecting ${size} additional bytes for model`,
        );
      }
      const blob = binary.subarray(offset, end);
      offset = end;
      return {
        name,
        datatype,
        shape: dims,
        raw: blob,
        decode: (at) => rawToOrt(datatype, dims, blob, at),
      };
    }
    if (raw.data === undefined) {
      throw invalidArg(`input '${name}' must specify 'data' or 'binary_data_size'`);
    }
    const data = raw.data;
    return { name, datatype, shape: dims, decode: (at) => jsonToOrt(datatype, dims, data, at) };
  });
  if (offset !== binary.length) {
    throw invalidArg(
      `unexpected additional input data for model: ${binary.length - offset} bytes no input claims`,
    );
  }
  const { binary_data_output: binaryOutput, ...parameters } = isRecord(json.parameters)
    ? json.parameters
    : {};
  let outputs: ParsedRequest["outputs"];
  if (json.outputs !== undefined) {
    if (!Array.isArray(json.outputs)) throw invalidArg("Unable to parse 'outputs'");
    outputs = json.outputs.map((o: unknown) => {
      if (!isRecord(o) || typeof o.name !== "string") throw invalidArg("Unable to parse 'outputs'");
      const op = isRecord(o.parameters) ? o.parameters : {};
      return {
        name: o.name,
        binary: typeof op.binary_data === "boolean" ? op.binary_data : undefined,
      };
    });
  }
  return {
    id: typeof json.id === "string" ? json.id : undefined,
    inputs,
    outputs,
    binaryOutput: binaryOutput === true,
    parameters,
  };
}

async function infer(
  core: TritonCore,
  req: IncomingMessage,
  res: ServerResponse,
  model: string,
  version: string | undefined,
): Promise<void> {
  let answered = false;
  let record: CallRecord | undefined;
  const gone = new Promise<void>((resolve) => {
    res.on("close", () => {
      if (!answered && !res.writableFinished && record !== undefined) record.cancelled = true;
      resolve();
    });
  });
  const body = await readBody(req);
  const found = core.find(model, version);
  const header = req.headers[HEADER];
  const { json, binary } = splitBody(body, Array.isArray(header) ? header[0] : header);
  const parsed = parseInfer(json, binary);
  record = core.record("rest", model, version, parsed.inputs[0]?.shape[0]);
  record.requestId = requestIdOf(req.headers["x-request-id"]);
  if (res.destroyed) record.cancelled = true;
  if (!(await core.gate.admit(gone, found.name))) return;
  const answer = await core.infer(
    found,
    parsed.inputs,
    parsed.outputs?.map((o) => o.name),
    parsed.parameters,
  );
  const binaryFor = (name: string) =>
    parsed.outputs?.find((o) => o.name === name)?.binary ?? parsed.binaryOutput;
  answered = true;
  respond(res, found.name, found.version, parsed.id, answer, binaryFor);
}

function respond(
  res: ServerResponse,
  model: string,
  version: string,
  id: string | undefined,
  { outputs, parameters }: Answer,
  binaryFor: (name: string) => boolean,
): void {
  const blobs: Buffer[] = [];
  const entries = outputs.map((o) => {
    const head = `"name":${JSON.stringify(o.name)},"datatype":"${o.datatype}","shape":${JSON.stringify(o.shape)}`;
    if (binaryFor(o.name)) {
      const blob = o.raw === undefined ? ortToRaw(o.tensor) : Buffer.from(o.raw);
      blobs.push(blob);
      return `{${head},"parameters":${JSON.stringify({ ...o.parameters, binary_data_size: blob.length })}}`;
    }
    const own = o.parameters === undefined ? "" : `,"parameters":${JSON.stringify(o.parameters)}`;
    return `{${head}${own},"data":${ortToJsonText(o.datatype, o.tensor)}}`;
  });
  const idPart =
    (id === undefined ? "" : `"id":${JSON.stringify(id)},`) +
    (parameters === undefined ? "" : `"parameters":${JSON.stringify(parameters)},`);
  const json = Buffer.from(
    `{${idPart}"model_name":${JSON.stringify(model)},"model_version":"${version}","outputs":[${entries.join(",")}]}`,
  );
  if (blobs.length === 0) {
    send(res, 200, json);
    return;
  }
  if (res.writableEnded || res.destroyed) return;
  const body = Buffer.concat([json, ...blobs]);
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    "content-length": body.length,
    [HEADER]: json.length,
  });
  res.end(body);
}
