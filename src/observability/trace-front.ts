/**
 * Server spans for the fronts (docs/access.md "Tracing"): the request's W3C `traceparent` (HTTP
 * header or gRPC metadata) becomes the parent, and the span is active while the request runs, so
 * cache and backend spans nest under it and backend calls carry the same trace id. Without a
 * started tracer provider every span here is a no-op.
 */
import type { Metadata, UntypedServiceImplementation } from "@grpc/grpc-js";
import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import { callScope, type RequestScope } from "../auth/principal.js";
import type { AppEnv } from "../http/deps.js";
import { scopeOf } from "../http/scope.js";
import type { Policy } from "../pipeline/types.js";
import { onSettled, wrapUnary } from "./unary.js";

/**
 * The gateway's tracer (a no-op until tracing.ts starts a provider). Looked up on each use: a
 * tracer kept from before a provider was replaced would keep feeding the old one.
 */
export function tracer(): Tracer {
  return trace.getTracer("infergate");
}

let enabled = false;

/** Called by tracing.ts: spans are made only while a provider runs (no cost otherwise). */
export function setTracingEnabled(on: boolean): void {
  enabled = on;
}

/** True while a tracer provider runs. */
export function isTracing(): boolean {
  return enabled;
}

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

const metadataGetter: TextMapGetter<Metadata> = {
  get: (metadata, key) => {
    const value = metadata.get(key).find((v) => typeof v === "string");
    return typeof value === "string" ? value : undefined;
  },
  keys: (metadata) => Object.keys(metadata.getMap()),
};

/** What the request resolved to, as span attributes. */
function scopeAttributes(scope: RequestScope): Attributes {
  const out: Attributes = {};
  if (scope.principal !== undefined) out["infergate.tenant"] = scope.principal.tenant;
  if (scope.model !== undefined) out["infergate.model"] = scope.model;
  if (scope.version !== undefined) out["infergate.version"] = scope.version;
  if (scope.backend !== undefined) out["infergate.backend"] = scope.backend;
  if (scope.cache !== undefined) out["infergate.cache"] = scope.cache;
  if (scope.fallback !== undefined) out["infergate.fallback"] = scope.fallback;
  if (scope.requestId !== undefined) out["infergate.request_id"] = scope.requestId;
  return out;
}

/** The HTTP middleware; mount it inside the access log, before the access check. */
export function httpTracing(): MiddlewareHandler<AppEnv> {
  return async function traced(c, next) {
    if (!enabled) return next();
    const parent = propagation.extract(ROOT_CONTEXT, c.req.raw.headers, headerGetter);
    const span = tracer().startSpan(
      `${c.req.method} ${c.req.path}`,
      {
        kind: SpanKind.SERVER,
        attributes: { "http.request.method": c.req.method, "url.path": c.req.path },
      },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const status = c.res.status;
      span.setAttributes({ ...scopeAttributes(scopeOf(c)), "http.response.status_code": status });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}

/** `implementation` with one server span per unary call. */
export function grpcTracing(
  implementation: UntypedServiceImplementation,
): UntypedServiceImplementation {
  return wrapUnary(implementation, (rpc, unary) => (call, callback) => {
    if (!enabled) {
      unary(call, callback);
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, call.metadata, metadataGetter);
    const span = tracer().startSpan(
      `inference.GRPCInferenceService/${rpc}`,
      { kind: SpanKind.SERVER, attributes: { "rpc.system": "grpc", "rpc.method": rpc } },
      parent,
    );
    const done = onSettled(callback, (code) => {
      span.setAttributes({ ...scopeAttributes(callScope(call)), "rpc.grpc.status_code": code });
      if (code !== 0) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), () => unary(call, done));
  });
}

/**
 * A pipeline policy that runs the rest of the target call in a span named `name` (the target or
 * fallback, the cache lookup, the batch queue); a cache outcome below lands on it as an attribute.
 */
export function spanPolicy(name: string, attributes: Attributes = {}): Policy {
  return (next) => (request) => {
    if (!enabled) return next(request);
    return inSpan(
      name,
      async (span) => {
        const result = await next(request);
        if (result.cache !== undefined) span.setAttribute("infergate.cache", result.cache);
        return result;
      },
      attributes,
    );
  };
}

/** Runs `fn` in an active internal span named `name`, ended when it settles. */
export async function inSpan<T>(
  name: string,
  fn: (span: Span) => Promise<T>,
  attributes: Attributes = {},
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: err instanceof Error ? err.message : String(err),
      });
      throw err;
    } finally {
      span.end();
    }
  });
}
