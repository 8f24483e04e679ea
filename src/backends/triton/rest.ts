/**
 * Triton (or any KServe v2 server) over REST: `POST .../infer` with the binary tensor extension,
 * `GET /v2/models/{m}[/versions/{v}]` metadata, `.../ready` and `/v2/health/live`, all through the
 * pooled HttpClient.
 */
import { GatewayError } from "../../errors.js";
import { INFERENCE_HEADER } from "../../protocols/kserve/binary-header.js";
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
import {
  buildRestInferRequest,
  errorMessageOf,
  modelPath,
  parseJsonBody,
  readRestInferResponse,
} from "./rest-codec.js";
import { CONTROL_TIMEOUT_MS, metadataFrom } from "./wire.js";

/** A Triton backend reached over KServe v2 REST at `baseUrl`. */
export class TritonRestAdapter implements BackendAdapter {
  readonly type = "triton";
  private readonly http: HttpClient;

  constructor(
    readonly name: string,
    baseUrl: string,
    options: HttpClientOptions = {},
  ) {
    this.http = new HttpClient(name, baseUrl, options);
  }

  async infer(target: TargetRef, call: BackendCall): Promise<BackendResult> {
    const { body, jsonLength } = buildRestInferRequest(call);
    const res = await this.http.request({
      method: "POST",
      path: `${modelPath(target)}/infer`,
      headers: {
        "content-type": "application/octet-stream",
        [INFERENCE_HEADER]: String(jsonLength),
      },
      body,
      deadline: call.deadline,
      signal: call.signal,
      requestId: call.requestId,
    });
    this.check(res);
    const header = headerValue(res, INFERENCE_HEADER);
    checkJsonStructure(this.name, jsonPart(res.body, header));
    return readRestInferResponse(this.name, res.body, header);
  }

  async metadata(target: TargetRef): Promise<ModelMetadata> {
    const res = await this.http.request({
      method: "GET",
      path: modelPath(target),
      deadline: Date.now() + CONTROL_TIMEOUT_MS,
    });
    this.check(res);
    return metadataFrom(this.name, target.model, parseJsonBody(this.name, res.body));
  }

  async ready(target: TargetRef): Promise<boolean> {
    return this.probe(`${modelPath(target)}/ready`);
  }

  async health(): Promise<boolean> {
    return this.probe("/v2/health/live");
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** The status code is the answer; an unreachable backend is not ready either. */
  private async probe(path: string): Promise<boolean> {
    try {
      const res = await this.http.request({
        method: "GET",
        path,
        deadline: Date.now() + CONTROL_TIMEOUT_MS,
      });
      return res.status === 200;
    } catch (err) {
      if (err instanceof GatewayError) return false;
      throw err;
    }
  }

  private check(res: HttpResponse): void {
    if (res.status !== 200) {
      throw errorFromHttpStatus(this.name, res.status, errorMessageOf(res.body), answerBody(res));
    }
  }
}

/** The JSON part of an infer answer (the codec checks the header's value itself). */
function jsonPart(body: Buffer, header: string | undefined): Buffer {
  const length = header === undefined ? body.length : Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? body.subarray(0, length) : body;
}

function headerValue(res: HttpResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
