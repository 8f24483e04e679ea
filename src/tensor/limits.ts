/**
 * Per-request decoding limits (config `server.limits`, see docs/tensors.md "Limits"): what one
 * request may make the gateway build, checked from declared shapes before anything is allocated,
 * and what one answer may make it encode.
 */
import { GatewayError } from "../errors.js";
import { elementCount, elementSize, formatShape, tensorByteLength } from "./datatype.js";
import type { Datatype, Tensor } from "./types.js";

/** The `server.limits` keys that bound decoding and encoding. */
export interface DecodeLimits {
  /** Deepest JSON nesting (arrays and objects together). */
  readonly maxJsonDepth: number;
  /** Tensor elements in one request, all inputs together. */
  readonly maxElements: number;
  /** Decoded tensor bytes in one request (elements × datatype size; raw BYTES by length). */
  readonly maxTensorBytes: number;
  /** BYTES elements in one request, all inputs together. */
  readonly maxBytesElements: number;
  /** Bytes of one answer's outputs (raw size) before it is encoded. */
  readonly maxOutputBytes: number;
}

/** The schema's defaults, for callers (tests, tools) without a config snapshot. */
export const DEFAULT_LIMITS: DecodeLimits = {
  maxJsonDepth: 64,
  maxElements: 4_194_304,
  maxTensorBytes: 64 * 1024 * 1024,
  maxBytesElements: 65_536,
  maxOutputBytes: 64 * 1024 * 1024,
};

/**
 * A request over a size limit: 413 PAYLOAD_TOO_LARGE on HTTP (what Envoy and nginx answer for a
 * body too big; the client must send less), RESOURCE_EXHAUSTED on gRPC (what grpc answers for a
 * message over its size limit).
 */
export class RequestTooLargeError extends GatewayError {
  constructor(message: string) {
    super("PAYLOAD_TOO_LARGE", message);
  }
}

/**
 * What one request has claimed so far. Every tensor constructor charges its declared shape here
 * before it allocates, so the limits hold for all inputs together and fail before the work.
 */
export class DecodeBudget {
  private elements = 0;
  private bytes = 0;
  private strings = 0;

  constructor(readonly limits: DecodeLimits = DEFAULT_LIMITS) {}

  /**
   * Charges a tensor of `datatype` and a checked `shape`; `rawBytes` is the byte size of raw
   * contents when known (BYTES have no fixed element size). Throws RequestTooLargeError naming the
   * limit that the request passes.
   */
  claim(datatype: Datatype, shape: readonly number[], rawBytes?: number): void {
    const count = elementCount(shape);
    const { maxElements, maxTensorBytes, maxBytesElements } = this.limits;
    this.elements += count;
    if (this.elements > maxElements) {
      throw new RequestTooLargeError(
        `tensor of shape ${formatShape(shape)} brings the request to ${this.elements} elements; ` +
          `at most ${maxElements} allowed (server.limits.maxElements)`,
      );
    }
    this.bytes += datatype === "BYTES" ? (rawBytes ?? 4 * count) : count * elementSize(datatype);
    if (this.bytes > maxTensorBytes) {
      throw new RequestTooLargeError(
        `tensor of shape ${formatShape(shape)} brings the request to ${this.bytes} tensor bytes; ` +
          `at most ${maxTensorBytes} allowed (server.limits.maxTensorBytes)`,
      );
    }
    if (datatype !== "BYTES") return;
    this.strings += count;
    if (this.strings > maxBytesElements) {
      throw new RequestTooLargeError(
        `BYTES tensor of shape ${formatShape(shape)} brings the request to ${this.strings} BYTES ` +
          `elements; at most ${maxBytesElements} allowed (server.limits.maxBytesElements)`,
      );
    }
  }
}

/**
 * Checks an answer's outputs against `maxOutputBytes` (raw size: elements × datatype size, BYTES
 * by length) before it is encoded. Over the limit is the backend's doing, not the client's:
 * BACKEND_ERROR (502).
 */
export function checkOutputBytes(outputs: readonly Tensor[], limits: DecodeLimits): void {
  let total = 0;
  for (const output of outputs) {
    total += tensorByteLength(output);
    // Zero-element shapes cost their empty rows in JSON; count each row as one element.
    total += emptyRows(output.shape);
  }
  if (total > limits.maxOutputBytes) {
    throw new GatewayError(
      "BACKEND_ERROR",
      `the answer's outputs hold ${total} bytes; at most ${limits.maxOutputBytes} allowed ` +
        "(server.limits.maxOutputBytes)",
    );
  }
}

function emptyRows(shape: readonly number[]): number {
  let rows = 1;
  for (const dim of shape) {
    if (dim === 0) return rows;
    rows *= dim;
  }
  return 0;
}
