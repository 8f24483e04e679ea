/**
 * What every emulator exposes to tests: a record of the calls it served and switches to make it
 * fail, stall or die, so the conformance and chaos suites drive all backends the same way.
 */

import type { HostileAnswer } from "./hostile.js";

/** The first text value of an `x-request-id` header (HTTP) or metadata entry (gRPC). */
export function requestIdOf(value: unknown): string | undefined {
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return typeof first === "string" ? first : undefined;
}

/** One inference call as the emulator saw it. */
export interface CallRecord {
  protocol: "rest" | "grpc";
  model: string;
  version: string | undefined;
  /** Size of dimension 0 of the first input (the batch size), when known. */
  batchSize: number | undefined;
  /** ms since epoch when the call arrived. */
  at: number;
  /** The call's `x-request-id` header or metadata, when it had one. */
  requestId?: string;
  /** Set when the call was cancelled by the client before the emulator answered. */
  cancelled?: boolean;
}

/**
 * How the emulator answers inference calls from now on:
 * - `ok`: compute the real answer;
 * - `unavailable`: the backend's "unavailable" (HTTP 503 / gRPC UNAVAILABLE);
 * - `error`: an internal error (HTTP 500 / gRPC INTERNAL);
 * - `stall`: never answer (until the client gives up; the emulator records the cancellation).
 * `delayMs` delays every answer. `failEvery: n` makes every n-th call fail with `unavailable`.
 * `hostile` (with kind `ok`) replaces inference answers with a broken or malicious one
 * (hostile.ts): over REST on every emulator, over gRPC where the emulator implements it (Triton).
 */
export interface EmulatorMode {
  kind: "ok" | "unavailable" | "error" | "stall";
  delayMs?: number;
  failEvery?: number;
  hostile?: HostileAnswer;
}

/** The control surface every emulator implements. */
export interface EmulatorControl {
  /** Base URL of the REST API (`http://127.0.0.1:PORT`), when it serves REST. */
  readonly restUrl: string | undefined;
  /** `127.0.0.1:PORT` of the gRPC API, when it serves gRPC. */
  readonly grpcAddress: string | undefined;
  /** Every inference call served so far, in arrival order. */
  readonly calls: CallRecord[];
  /** Sets how inference calls are answered. */
  setMode(mode: EmulatorMode): void;
  /** Destroys every open connection and stops listening, like a killed process. */
  kill(): Promise<void>;
  /** Listens again on the same ports after kill(). */
  restart(): Promise<void>;
  /** Stops the emulator for good. */
  close(): Promise<void>;
}
