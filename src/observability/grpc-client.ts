/**
 * A grpc-js client interceptor for backend calls (docs/access.md "Tracing"): one client span per
 * attempt and the W3C `traceparent` in the call's metadata, so gRPC backends join the caller's
 * trace as HTTP ones do through the undici instrumentation. A no-op while tracing is off.
 */
import { InterceptingCall, type Interceptor, type Metadata } from "@grpc/grpc-js";
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { isTracing, tracer } from "./trace-front.js";

const setter = {
  set: (metadata: Metadata, key: string, value: string) => metadata.set(key, value),
};

/** Adds a client span and `traceparent` to every call of the client it is registered on. */
export const traceInterceptor: Interceptor = (options, nextCall) => {
  if (!isTracing()) return new InterceptingCall(nextCall(options));
  const method = options.method_definition.path.replace(/^\//, "");
  const span = tracer().startSpan(method, {
    kind: SpanKind.CLIENT,
    attributes: { "rpc.system": "grpc", "rpc.method": method },
  });
  return new InterceptingCall(nextCall(options), {
    start(metadata, _listener, next) {
      propagation.inject(trace.setSpan(context.active(), span), metadata, setter);
      next(metadata, {
        onReceiveStatus(status, nextStatus) {
          span.setAttribute("rpc.grpc.status_code", status.code);
          if (status.code !== 0) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
          nextStatus(status);
        },
      });
    },
  });
};
