/**
 * TF Serving over its REST API (TF Serving's REST API docs): columnar `:predict` calls, the model
 * status API for readiness and the metadata API for the signature. REST has no output filter and
 * its answers carry no datatypes, so the adapter reads the signature (cached per target) to type
 * the outputs, names a single-output signature's bare answer, and keeps the requested outputs.
 */

import { settleByAbort } from "../../abort.js";
import { BackendError, InvalidRequestError } from "../../errors.js";
import type { TensorSpec } from "../../tensor/types.js";
import { answerBody, errorFromHttpStatus } from "../remote/errors.js";
import { HttpClient, type HttpClientOptions, type HttpResponse } from "../remote/http-client.js";
import { checkJsonStructure } from "../remote/json-guard.js";
import type {
  BackendAdapter,
  BackendCall,
  BackendResult,
  ModelMetadata,
  TargetRef,
} from "../types.js";
import { DEFAULT_SIGNATURE, signatureSpecs, toModelMetadata } from "./metadata.js";
import { errorMessage, parseAnswer, predictRequestText, tensorFromAnswer } from "./rest-codec.js";

/** How long a fetched signature is trusted before it is read again. */
const SIGNATURE_TTL_MS = 30_000;
/** Most cached signatures; the cache is cleared when it is full (targets are few). */
const SIGNATURE_CACHE_SIZE = 1024;
const PROBE_TIMEOUT_MS = 2_000;
const METADATA_TIMEOUT_MS = 5_000;

/** `/v1/models/{m}[/versions/{n}|/labels/{l}]`: digits are a version, anything else a label. */
export function modelPath(target: TargetRef): string {
  const base = `/v1/models/${encodeURIComponent(target.model)}`;
  const version = target.version;
  if (version === undefined) return base;
  return /^\d+$/.test(version)
    ? `${base}/versions/${version}`
    : `${base}/labels/${encodeURIComponent(version)}`;
}

interface CachedSignature {
  at: number;
  metadata: Promise<ModelMetadata>;
  /** True once the fetch has succeeded: then a hit needs no abort guard. */
  settled: boolean;
}

/** A BackendAdapter speaking TF Serving's REST API. */
export class TfServingRestAdapter implements BackendAdapter {
  readonly type = "tfserving" as const;
  private readonly http: HttpClient;
  private readonly signatures = new Map<string, CachedSignature>();

  constructor(
    readonly name: string,
    url: string,
    options: HttpClientOptions = {},
  ) {
    this.http = new HttpClient(name, url, options);
  }

  async infer(target: TargetRef, call: BackendCall): Promise<BackendResult> {
    const outputs = target.outputs ?? (await this.cachedMetadata(target, call)).outputs;
    const signature = target.signature ?? DEFAULT_SIGNATURE;
    const res = await this.http.request({
      method: "POST",
      path: `${modelPath(target)}:predict`,
      headers: { "content-type": "application/json" },
      body: predictRequestText(signature, call.inputs),
      deadline: call.deadline,
      signal: call.signal,
      requestId: call.requestId,
    });
    if (res.status !== 200) {
      // A refused call may mean the model changed under a cached signature: read it again (not
      // on 5xx, where refetching would only add load to a struggling backend).
      if (res.status === 400 || res.status === 404) this.signatures.delete(this.cacheKey(target));
      throw this.failure(res);
    }
    checkJsonStructure(this.name, res.body);
    const { value, rewritten } = parseAnswer(this.name, res.body.toString("utf8"));
    const answer = this.outputsOf(value, outputs);
    const wanted = call.outputs ?? outputs.map((o) => o.name);
    const result = wanted.map((name) => {
      const spec = outputs.find((o) => o.name === name);
      if (spec === undefined) {
        throw new InvalidRequestError(
          `output "${name}" is not an output of model "${target.model}" ` +
            `(outputs: ${outputs.map((o) => o.name).join(", ")})`,
        );
      }
      // The signature names it, so its absence is the backend's fault, not the request's.
      if (!Object.hasOwn(answer, name)) {
        throw new BackendError(`backend "${this.name}" answered without output "${name}"`);
      }
      return {
        name,
        ...tensorFromAnswer(this.name, name, answer[name], spec.datatype, rewritten),
      };
    });
    return {
      outputs: result,
      ...(target.version !== undefined && /^\d+$/.test(target.version)
        ? { modelVersion: target.version }
        : {}),
    };
  }

  async metadata(target: TargetRef): Promise<ModelMetadata> {
    const res = await this.http.request({
      method: "GET",
      path: `${modelPath(target)}/metadata`,
      deadline: Date.now() + METADATA_TIMEOUT_MS,
    });
    if (res.status !== 200) throw this.failure(res);
    const body = this.json(res);
    const spec = field(body, "model_spec");
    const version = field(spec, "version");
    const signatureDefMap = field(field(body, "metadata"), "signature_def");
    const specs = signatureSpecs(
      signatureDefMap,
      target.signature ?? DEFAULT_SIGNATURE,
      target.model,
    );
    return toModelMetadata(
      target.model,
      version === undefined ? target.version : String(version),
      specs,
    );
  }

  async ready(target: TargetRef): Promise<boolean> {
    const res = await this.http.request({
      method: "GET",
      path: modelPath(target),
      deadline: Date.now() + PROBE_TIMEOUT_MS,
    });
    if (res.status === 404) return false;
    if (res.status !== 200) throw this.failure(res);
    const statuses = field(this.json(res), "model_version_status");
    // With a version or label the answer lists that version only; without, any available
    // version serves "latest".
    return (
      Array.isArray(statuses) && statuses.some((s: unknown) => field(s, "state") === "AVAILABLE")
    );
  }

  /** TF Serving has no liveness endpoint: every answer of the status API (404 too) means live. */
  async health(): Promise<boolean> {
    try {
      const res = await this.http.request({
        method: "GET",
        path: "/v1/models/infergate-health-probe",
        deadline: Date.now() + PROBE_TIMEOUT_MS,
      });
      return res.status < 500;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.signatures.clear();
    await this.http.close();
  }

  private cacheKey(target: TargetRef): string {
    return JSON.stringify([target.model, target.version ?? "", target.signature ?? ""]);
  }

  /** The target's metadata, fetched at most once per TTL however many calls arrive at once. */
  private cachedMetadata(target: TargetRef, call: BackendCall): Promise<ModelMetadata> {
    const key = this.cacheKey(target);
    const now = Date.now();
    const hit = this.signatures.get(key);
    if (hit !== undefined && now - hit.at < SIGNATURE_TTL_MS) {
      // A fetch still in flight is shared: each caller's own signal still bounds its wait.
      return hit.settled ? hit.metadata : settleByAbort(hit.metadata, call.signal, this.name);
    }
    if (this.signatures.size >= SIGNATURE_CACHE_SIZE) this.signatures.clear();
    const metadata = this.metadata(target);
    const entry: CachedSignature = { at: now, metadata, settled: false };
    this.signatures.set(key, entry);
    metadata.then(
      () => {
        entry.settled = true;
      },
      () => {
        if (this.signatures.get(key) === entry) this.signatures.delete(key);
      },
    );
    return settleByAbort(metadata, call.signal, this.name);
  }

  /** `{"outputs": value | {alias: tensor}}` as alias -> value. */
  private outputsOf(body: unknown, outputs: readonly TensorSpec[]): Record<string, unknown> {
    if (typeof body !== "object" || body === null || !("outputs" in body)) {
      throw new BackendError(`backend "${this.name}" answered without "outputs"`);
    }
    const value = body.outputs;
    // A single-output signature answers the bare tensor.
    const single = outputs.length === 1 ? outputs[0] : undefined;
    if (single !== undefined) return { [single.name]: value };
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new BackendError(`backend "${this.name}" answered "outputs" that is not an object`);
    }
    return value as Record<string, unknown>;
  }

  private json(res: HttpResponse): unknown {
    try {
      return JSON.parse(res.body.toString("utf8"));
    } catch (err) {
      throw new BackendError(`backend "${this.name}" answered invalid JSON`, { cause: err });
    }
  }

  private failure(res: HttpResponse): Error {
    return errorFromHttpStatus(
      this.name,
      res.status,
      errorMessage(res.body.toString("utf8")),
      answerBody(res),
    );
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && key in value
    ? (value as Record<string, unknown>)[key]
    : undefined;
}
