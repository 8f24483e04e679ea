/** What the TorchServe adapter needs of a protocol (REST or gRPC): one prediction and the ping. */

/** One prediction call: JSON request text in, the handler's answer text out. */
export interface PredictionCall {
  model: string;
  /** undefined = the model's default version. */
  version: string | undefined;
  /** The request body (docs/backends.md "TorchServe's handler convention"). */
  body: string;
  /** Absolute deadline, ms since the epoch. */
  deadline: number;
  signal: AbortSignal;
  /** Sent as `x-request-id` (see BackendCall.requestId). */
  requestId?: string | undefined;
}

/** A TorchServe protocol. Errors thrown are GatewayErrors. */
export interface TorchServeTransport {
  /** Runs one prediction and returns the handler's answer as text. */
  predict(call: PredictionCall): Promise<string>;
  /** True when TorchServe reports itself healthy; false for any failure. */
  ping(deadline: number): Promise<boolean>;
  close(): Promise<void>;
}
