/**
 * Wrapping the gRPC front's unary handlers (access check, tracing, access log) without each layer
 * repeating grpc-js's untyped handler plumbing.
 */
import type {
  ServerUnaryCall,
  ServiceError,
  sendUnaryData,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";

/** A unary call as the wrappers see it. */
export type UnaryCall = ServerUnaryCall<unknown, unknown>;
/** A unary handler. */
export type Unary = (call: UnaryCall, callback: sendUnaryData<unknown>) => void;

/** `implementation` with each (unary) handler replaced by `wrap(rpc, handler)`. */
export function wrapUnary(
  implementation: UntypedServiceImplementation,
  wrap: (rpc: string, handler: Unary) => Unary,
): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [rpc, handler] of Object.entries(implementation)) {
    out[rpc] = wrap(rpc, handler as Unary) as UntypedHandleCall;
  }
  return out;
}

/** `callback`, first telling `onDone` the call's status code (0 = OK). */
export function onSettled(
  callback: sendUnaryData<unknown>,
  onDone: (code: number) => void,
): sendUnaryData<unknown> {
  return (err, value, trailer, flags) => {
    onDone(err === null || err === undefined ? 0 : ((err as Partial<ServiceError>).code ?? 2));
    callback(err, value, trailer, flags);
  };
}
