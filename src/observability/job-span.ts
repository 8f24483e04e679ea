/**
 * Async jobs run later, outside the request that submitted them: each run gets a span of its own
 * (a new trace) linked to the submit's span, whose traceparent the submit stored with the job
 * (docs/access.md "Tracing").
 */
import {
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { isTracing, tracer } from "./trace-front.js";

/** The header the submit's span context is stored under. */
const TRACEPARENT = "traceparent";

/** Headers to store with a job so its run can link back to the current span; {} when off. */
export function submitTraceHeaders(): Record<string, string> {
  if (!isTracing()) return {};
  const out: Record<string, string> = {};
  propagation.inject(context.active(), out);
  return TRACEPARENT in out ? { [TRACEPARENT]: out[TRACEPARENT] as string } : {};
}

/** What a job run needs to know about its job. */
export interface JobIdentity {
  id: string;
  tenant: string;
  request: { headers: Record<string, string> };
}

/** Runs `fn` (one run of `job`) in a span linked to its submit. */
export function inJobSpan<T>(job: JobIdentity, fn: () => Promise<T>): Promise<T> {
  if (!isTracing()) return fn();
  const submitted = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, job.request.headers));
  const links: Link[] = submitted === undefined ? [] : [{ context: submitted }];
  const span = tracer().startSpan(
    "async job",
    { root: true, links, attributes: { "infergate.job_id": job.id } },
    ROOT_CONTEXT,
  );
  return context.with(trace.setSpan(ROOT_CONTEXT, span), fn).then(
    (result) => {
      span.end();
      return result;
    },
    (err: unknown) => {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw err;
    },
  );
}
