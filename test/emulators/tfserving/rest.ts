/**
 * The emulator's REST API, as TF Serving's REST API documents it: with TF Serving's path grammar,
 * request formats (row `instances` and columnar `inputs`, never both), answers and `{"error"}`
 * bodies.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { requestIdOf } from "../control.js";
import type { LoadedModel } from "../runner.js";
import {
  type FedInput,
  SERVING_DEFAULT,
  type ServableRequest,
  type TfServingCore,
} from "./core.js";
import { DT_OF_ORT } from "./dtypes.js";
import { asTfError, invalidArgument, TfError } from "./errors.js";
import { type Json, jsonText, Obj, parseJson } from "./json.js";
import {
  isBase64Object,
  type JsonTensor,
  ortTensor,
  tensorFromJson,
  tensorRows,
  tensorText,
} from "./json-tensor.js";

const POST_PATH =
  /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+)|\/labels\/([^/:]+))?:(classify|regress|predict)$/i;
const GET_PATH =
  /^\/v1\/models(?:\/([^/:]+))?(?:\/versions\/(\d+)|\/labels\/([^/:]+))?(?:\/(metadata))?$/i;
const MAX_BODY = 256 * 1024 * 1024;

function servable(m: RegExpExecArray): ServableRequest {
  const req: ServableRequest = { model: decodeURIComponent(m[1] ?? "") };
  if (m[2] !== undefined) req.version = String(BigInt(m[2]));
  if (m[3] !== undefined) req.label = decodeURIComponent(m[3]);
  return req;
}

function send(res: ServerResponse, status: number, body: string): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

function sendError(res: ServerResponse, err: unknown): void {
  const e = asTfError(err);
  send(res, e.httpStatus, JSON.stringify({ error: e.message }));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(invalidArgument("request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Concatenates same-shaped items along a new dimension 0 (the row format's batching). */
function stack(items: JsonTensor[]): JsonTensor {
  const first = items[0] as JsonTensor;
  const shape = [items.length, ...first.shape];
  if (Array.isArray(first.data)) return { shape, data: items.flatMap((t) => t.data as string[]) };
  const per = first.data.length;
  const Ctor = first.data.constructor as new (n: number) => typeof first.data;
  const out = new Ctor(per * items.length);
  for (const [i, t] of items.entries()) (out as Uint8Array).set(t.data as Uint8Array, i * per);
  return { shape, data: out };
}

/** The `instances` list (row format) as one tensor per input alias. */
function fromInstances(value: Json, model: LoadedModel): Map<string, JsonTensor> {
  if (!Array.isArray(value)) throw invalidArgument(`Excepting 'instances' to be an list/array`);
  if (value.length === 0) throw invalidArgument(`No values in 'instances' array`);
  const aliases = model.inputs.map((i) => i.name);
  const dtypeOf = (alias: string) =>
    DT_OF_ORT[model.inputs.find((i) => i.name === alias)?.type ?? ""] ?? "DT_INVALID";
  const isElementObject = (v: Json) => v instanceof Obj && !isBase64Object(v);
  const objects = isElementObject(value[0] as Json);
  if (!objects && aliases.length > 1) {
    throw invalidArgument(
      "instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map",
    );
  }
  const items = new Map<string, JsonTensor[]>(aliases.map((a) => [a, []]));
  const add = (alias: string, v: Json, index: number) => {
    const list = items.get(alias);
    if (list === undefined)
      throw invalidArgument(`JSON object: does not have named input: ${alias}`);
    const t = tensorFromJson(v, dtypeOf(alias));
    const prev = list[0];
    if (prev !== undefined) {
      if (prev.data.length !== t.data.length) {
        throw invalidArgument(
          `Expecting tensor size: ${prev.data.length} but got: ${t.data.length}`,
        );
      }
      if (prev.shape.join(",") !== t.shape.join(",")) {
        throw invalidArgument(`Expecting shape [${prev.shape}] but got: [${t.shape}]`);
      }
    }
    void index;
    list.push(t);
  };
  value.forEach((elem, index) => {
    try {
      if (objects) {
        if (!(elem instanceof Obj) || isBase64Object(elem)) {
          throw invalidArgument(`Expecting object but got list at item ${index} of input list`);
        }
        for (const [key, v] of elem.members) add(key, v, index);
        const keys = [...elem.members.keys()].sort().join(",");
        if (keys !== [...aliases].sort().join(",")) {
          throw invalidArgument(
            `Failed to process element: ${index} of 'instances' list. JSON object: ${jsonText(elem)} keys must be equal to: ${[...aliases].sort().join(",")}`,
          );
        }
      } else {
        if (isElementObject(elem)) {
          throw invalidArgument(
            `Expecting value/list but got object at item ${index} of input list`,
          );
        }
        add(aliases[0] as string, elem, index);
      }
    } catch (err) {
      const e = asTfError(err);
      if (e.message.startsWith("Failed to process") || e.message.startsWith("Expecting ")) throw e;
      throw new TfError(
        e.code,
        `Failed to process element: ${index} of 'instances' list. Error: Invalid argument: ${e.message}`,
      );
    }
  });
  return new Map([...items].map(([alias, list]) => [alias, stack(list)]));
}

/** The `inputs` value (columnar format) as one tensor per input alias. */
function fromInputs(value: Json, model: LoadedModel): Map<string, JsonTensor> {
  const out = new Map<string, JsonTensor>();
  if (!(value instanceof Obj) || isBase64Object(value)) {
    if (model.inputs.length > 1) {
      throw invalidArgument(
        "inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map",
      );
    }
    const only = model.inputs[0];
    if (only !== undefined) out.set(only.name, tensorFromJson(value, DT_OF_ORT[only.type] ?? ""));
    return out;
  }
  for (const input of model.inputs) {
    const item = value.members.get(input.name);
    if (item === undefined) {
      throw invalidArgument(`Missing named input: ${input.name} in 'inputs' object.`);
    }
    out.set(input.name, tensorFromJson(item, DT_OF_ORT[input.type] ?? ""));
  }
  return out;
}

async function predict(
  core: TfServingCore,
  req: IncomingMessage,
  res: ServerResponse,
  target: ServableRequest,
  verb: string,
): Promise<void> {
  const record = core.record("rest", target);
  record.requestId = requestIdOf(req.headers["x-request-id"]);
  let answered = false;
  const gone = new Promise<void>((resolve) => {
    res.on("close", () => {
      if (!answered && !res.writableFinished) record.cancelled = true;
      resolve();
    });
  });
  try {
    const body = await readBody(req);
    const model = core.find(target);
    if (verb !== "predict") {
      throw invalidArgument(
        `Expected ${verb === "classify" ? "classification" : "regression"} signature method_name to be tensorflow/serving/${verb}. Was: tensorflow/serving/predict`,
      );
    }
    const doc = parseJson(body);
    if (!(doc instanceof Obj)) throw invalidArgument(`JSON Value: ${jsonText(doc)} Is not object`);
    const signature = doc.members.get("signature_name") ?? SERVING_DEFAULT;
    if (typeof signature !== "string") {
      throw invalidArgument(
        `JSON Value: ${jsonText(doc)} not formatted correctly. 'signature_name' key must be a string value.`,
      );
    }
    core.checkSignature(signature);
    const instances = doc.members.get("instances");
    const inputs = doc.members.get("inputs");
    if (instances !== undefined && inputs !== undefined) {
      throw invalidArgument(
        `JSON Value: ${jsonText(doc)} Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist `,
      );
    }
    if (instances === undefined && inputs === undefined) {
      throw invalidArgument("Missing 'inputs' or 'instances' key");
    }
    const row = instances !== undefined;
    const tensors = row ? fromInstances(instances, model) : fromInputs(inputs as Json, model);
    const fed: FedInput[] = model.inputs.flatMap((spec) => {
      const t = tensors.get(spec.name);
      return t === undefined
        ? []
        : [
            {
              alias: spec.name,
              dtype: DT_OF_ORT[spec.type] ?? "",
              tensor: ortTensor(spec.type, t),
            },
          ];
    });
    record.batchSize = fed[0]?.tensor.dims[0];
    if (!(await core.gate.admit(gone, model.name))) return;
    const outputs = await core.predict(model, fed, []);
    let text: string;
    if (row) {
      const rows = outputs.map((o) => ({ alias: o.alias, rows: tensorRows(o.alias, o.tensor) }));
      const batch = rows[0]?.rows.length ?? 0;
      for (const r of rows) {
        if (r.rows.length !== batch) {
          throw invalidArgument(
            `Tensor name: ${r.alias} has inconsistent batch size: ${r.rows.length} expecting: ${batch}`,
          );
        }
      }
      const items = Array.from({ length: batch }, (_, i) =>
        rows.length === 1
          ? (rows[0]?.rows[i] ?? "null")
          : `{${rows.map((r) => `${JSON.stringify(r.alias)}:${r.rows[i]}`).join(",")}}`,
      );
      text = `{"predictions":[${items.join(",")}]}`;
    } else {
      const parts = outputs.map((o) => [o.alias, tensorText(o.alias, o.tensor)] as const);
      text =
        parts.length === 1
          ? `{"outputs":${parts[0]?.[1]}}`
          : `{"outputs":{${parts.map(([a, t]) => `${JSON.stringify(a)}:${t}`).join(",")}}}`;
    }
    answered = true;
    send(res, 200, text);
  } catch (err) {
    answered = true;
    sendError(res, err);
  }
}

function status(core: TfServingCore, target: ServableRequest): string {
  const versions = core.statusVersions(target);
  return JSON.stringify({
    model_version_status: versions.map((version) => ({
      version,
      state: "AVAILABLE",
      status: { error_code: "OK", error_message: "" },
    })),
  });
}

function metadata(core: TfServingCore, target: ServableRequest): string {
  const model = core.find(target);
  return JSON.stringify({
    model_spec: { name: model.name, signature_name: "", version: model.version },
    metadata: { signature_def: core.signatureDefMap(model) },
  });
}

/** The HTTP request handler. */
export function restHandler(core: TfServingCore) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    try {
      if (req.method === "POST") {
        const m = POST_PATH.exec(path);
        if (m !== null) {
          void predict(core, req, res, servable(m), (m[4] ?? "").toLowerCase());
          return;
        }
      } else if (req.method === "GET") {
        const m = GET_PATH.exec(path);
        if (m !== null) {
          if (m[1] === undefined) throw invalidArgument("Missing model name in request.");
          const target = servable(m);
          send(res, 200, m[4] === undefined ? status(core, target) : metadata(core, target));
          return;
        }
      }
      if (!path.startsWith("/v1/")) {
        send(res, 404, "");
        return;
      }
      throw invalidArgument(`Malformed request: ${req.method} ${path}`);
    } catch (err) {
      sendError(res, err);
    }
  };
}
