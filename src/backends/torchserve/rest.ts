/**
 * TorchServe's inference REST API: `POST /predictions/{m}[/{version}]` and `GET /ping`. Only these
 * two paths are ever requested; the model and version come from the config's target and are
 * URL-encoded, so no request can steer the gateway to another path (the management API stays
 * out of reach).
 */
import { answerBody } from "../remote/errors.js";
import { HttpClient } from "../remote/http-client.js";
import { checkJsonStructure } from "../remote/json-guard.js";
import { errorFromHttpAnswer } from "./errors.js";
import type { PredictionCall, TorchServeTransport } from "./transport.js";

/** Options of the REST transport. */
export interface TorchServeRestOptions {
  url: string;
  token: string | undefined;
  maxConnections: number | undefined;
  maxResponseBytes: number | undefined;
}

/** The REST protocol over one pooled HTTP client. */
export class TorchServeRest implements TorchServeTransport {
  private readonly http: HttpClient;
  private readonly auth: Record<string, string>;

  constructor(
    private readonly backend: string,
    options: TorchServeRestOptions,
  ) {
    this.http = new HttpClient(backend, options.url, {
      ...(options.maxConnections === undefined ? {} : { connections: options.maxConnections }),
      ...(options.maxResponseBytes === undefined
        ? {}
        : { maxResponseBytes: options.maxResponseBytes }),
    });
    this.auth = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
  }

  async predict(call: PredictionCall): Promise<string> {
    const path =
      `/predictions/${encodeURIComponent(call.model)}` +
      (call.version === undefined ? "" : `/${encodeURIComponent(call.version)}`);
    const res = await this.http.request({
      method: "POST",
      path,
      headers: { ...this.auth, "content-type": "application/json" },
      body: call.body,
      deadline: call.deadline,
      signal: call.signal,
      requestId: call.requestId,
    });
    if (res.status !== 200)
      throw errorFromHttpAnswer(this.backend, res.status, res.body, answerBody(res));
    checkJsonStructure(this.backend, res.body);
    return res.body.toString("utf8");
  }

  async ping(deadline: number): Promise<boolean> {
    try {
      const res = await this.http.request({
        method: "GET",
        path: "/ping",
        headers: this.auth,
        deadline,
      });
      if (res.status !== 200) return false;
      const body: unknown = JSON.parse(res.body.toString("utf8"));
      return (
        typeof body === "object" && body !== null && "status" in body && body.status === "Healthy"
      );
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
