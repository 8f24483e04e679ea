/**
 * What both of the emulator's protocols share: model lookup with TorchServe's errors, the call
 * record, the failure modes and the handler run. Protocol files only translate to the wire.
 */
import type { CallRecord } from "../control.js";
import { ModeGate } from "../mode-gate.js";
import type { ModelRunner } from "../runner.js";
import { HandlerError, handle, parseRequest } from "./handler.js";

/** Why TorchServe refused a prediction: an HTTP status, the exception type and its message. */
export class TorchServeFailure extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    /** The Java class TorchServe's gRPC API appends to the status details. */
    readonly javaClass = "org.pytorch.serve.http.InternalServerException",
  ) {
    super(message);
  }
}

/** Thrown when the client went away before the answer (nothing is sent). */
export class CallCancelled extends Error {}

/** TorchServe's message for a failed token check (TokenAuthorizationHandler). */
export const TOKEN_MESSAGE =
  "Token Authorization failed. Token either incorrect, expired, or not provided correctly";

/** The emulator's shared state and prediction logic. */
export class Engine {
  /** The call record and the EmulatorMode switches. */
  readonly gate = new ModeGate({
    unavailable: (model) => noWorker(model),
    error: () => new TorchServeFailure(500, "InternalServerException", "Worker died."),
  });

  constructor(
    private readonly runner: ModelRunner,
    private readonly token: string | undefined,
  ) {}

  /** True when no token is required or `authorization` is `Bearer <token>`. */
  authorized(authorization: string | undefined): boolean {
    if (this.token === undefined) return true;
    return authorization === `Bearer ${this.token}`;
  }

  /**
   * One prediction: the answer text, or a TorchServeFailure, or CallCancelled once `signal`
   * aborts (the client closed the request or cancelled the call).
   */
  async predict(
    protocol: CallRecord["protocol"],
    modelName: string,
    version: string | undefined,
    body: Buffer,
    signal: AbortSignal,
    requestId?: string,
  ): Promise<string> {
    const model = this.runner.get(modelName, version);
    if (model === undefined) {
      if (this.runner.versions(modelName).length === 0) {
        throw new TorchServeFailure(
          404,
          "ModelNotFoundException",
          `Model not found: ${modelName}`,
          "org.pytorch.serve.archive.model.ModelNotFoundException",
        );
      }
      throw new TorchServeFailure(
        404,
        "ModelVersionNotFoundException",
        `Model version: ${version ?? ""} does not exist for model: ${modelName}`,
        "org.pytorch.serve.archive.model.ModelVersionNotFoundException",
      );
    }
    let parsed: ReturnType<typeof parseRequest> | undefined;
    let parseError: HandlerError | undefined;
    try {
      parsed = parseRequest(model, body);
    } catch (err) {
      if (!(err instanceof HandlerError)) throw err;
      parseError = err;
    }
    const record = this.gate.record(protocol, modelName, version, parsed?.batchSize);
    record.requestId = requestId;
    let answered = false;
    const gone = new Promise<void>((resolve) => {
      const leave = () => {
        if (!answered) record.cancelled = true;
        resolve();
      };
      if (signal.aborted) leave();
      else signal.addEventListener("abort", leave, { once: true });
    });
    try {
      if (!(await this.gate.admit(gone, modelName))) {
        record.cancelled = true;
        throw new CallCancelled();
      }
      if (parseError !== undefined || parsed === undefined) {
        throw failure(parseError ?? new HandlerError(400, "bad request"));
      }
      let text: string;
      try {
        text = await handle(this.runner, model, parsed);
      } catch (err) {
        throw err instanceof HandlerError ? failure(err) : err;
      }
      if (signal.aborted) throw new CallCancelled();
      return text;
    } finally {
      answered = true;
    }
  }
}

/** TorchServe's answer when a model has no free worker (HTTP 503). */
function noWorker(model: string): TorchServeFailure {
  return new TorchServeFailure(
    503,
    "ServiceUnavailableException",
    `Model "${model}" has no worker to serve inference request. Please use scale workers API to add workers.`,
  );
}

/** A handler error as TorchServe reports it: the worker's status with InternalServerException. */
function failure(err: HandlerError): TorchServeFailure {
  return new TorchServeFailure(err.status, "InternalServerException", err.message);
}
