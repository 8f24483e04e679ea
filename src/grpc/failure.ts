/**
 * The gRPC front's one error encoder (docs/grpc.md "Errors"): a GatewayError becomes its gRPC
 * status, message and trailers (Retry-After, rate-limit headers); anything else is INTERNAL with
 * a generic message, reported to the front's owner.
 */
import { Metadata, type ServiceError, type sendUnaryData } from "@grpc/grpc-js";
import { limitTrailers } from "../auth/grpc.js";
import { GRPC_STATUS, retryAfterValue, toGatewayError } from "../errors.js";

/** Answers a unary call with `err`; `trailers` are kept and added to. */
export type GrpcFail = <Res>(
  rpc: string,
  callback: sendUnaryData<Res>,
  err: unknown,
  trailers?: Metadata,
) => void;

/** The encoder of a front; `onInternalError` receives what was not a GatewayError. */
export function grpcFailure(
  onInternalError: ((err: unknown, rpc: string) => void) | undefined,
): GrpcFail {
  return (rpc, callback, err, trailers) => {
    const gatewayError = toGatewayError(err);
    if (gatewayError.code === "INTERNAL" && onInternalError !== undefined) {
      onInternalError(err, rpc);
    }
    const metadata = trailers ?? new Metadata();
    const retryAfter = retryAfterValue(gatewayError);
    if (retryAfter !== undefined) metadata.set("retry-after", retryAfter);
    limitTrailers(gatewayError, metadata);
    const error: ServiceError = Object.assign(new Error(gatewayError.message), {
      code: GRPC_STATUS[gatewayError.code],
      details: gatewayError.message,
      metadata,
    });
    callback(error);
  };
}
