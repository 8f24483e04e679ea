/**
 * Runs one async job through the same service path as a live `/v1/predict` (routing, cache,
 * batcher, breakers, fallback, metrics), in the "async" priority lane so live requests go first.
 */
import type { RequestScope } from "../auth/principal.js";
import { toGatewayError } from "../errors.js";
import type { InferenceService } from "../gateway/types.js";
import { parseJson } from "../http/request.js";
import { parsePredictBody } from "../http/unified-codec.js";
import { runUnified } from "../http/unified-run.js";
import { inJobSpan } from "../observability/job-span.js";
import { DEFAULT_LIMITS, type DecodeLimits } from "../tensor/index.js";
import type { JobHandler, JobOutcome, JobRecord } from "./types.js";

const encoder = new TextEncoder();

/**
 * The handler that runs jobs on whatever service is current when each job starts. `onInternal`
 * gets the cause of an INTERNAL failure (a bug), which the job itself reports only as
 * "internal error".
 */
export function serviceHandler(
  service: () => InferenceService,
  onInternal: (err: unknown, job: JobRecord) => void,
  limits: () => DecodeLimits = () => DEFAULT_LIMITS,
): JobHandler {
  // Each run in a span linked to the submit (docs/access.md "Tracing").
  return (job, signal) =>
    inJobSpan(job, () => runJob(service(), job, signal, onInternal, limits()));
}

async function runJob(
  service: InferenceService,
  job: JobRecord,
  signal: AbortSignal,
  onInternal: (err: unknown, job: JobRecord) => void,
  limits: DecodeLimits,
): Promise<JobOutcome> {
  const release = service.hold();
  let version: string | undefined;
  try {
    const { headers } = job.request;
    const header = (name: string) => headers[name];
    const { path } = job.request;
    const body = parsePredictBody(parseJson(encoder.encode(job.request.body), limits), {
      model: path.model,
      version: path.version,
    });
    const { response, text } = await runUnified(
      service,
      body,
      // As the job's tenant, so its cache entries stay the tenant's as a live request's would.
      { requestId: job.id, header, signal, priority: "async", scope: jobScope(job.tenant) },
      limits,
      (route) => {
        version = route.version;
      },
    );
    return {
      kind: "succeeded",
      result: text,
      version: response.version,
    };
  } catch (err) {
    const error = toGatewayError(err);
    if (error.code === "INTERNAL") onInternal(error.cause ?? err, job);
    const outcome: JobOutcome = {
      kind: "failed",
      error: { code: error.code, message: error.message },
    };
    if (version !== undefined) outcome.version = version;
    return outcome;
  } finally {
    release();
  }
}

function jobScope(tenant: string): RequestScope {
  return tenant === ""
    ? {}
    : { principal: { tenant, admin: false, models: undefined, via: "key" } };
}
