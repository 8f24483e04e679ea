/**
 * What clients see of a job (docs/async.md "The job object"), as JSON text. The result is spliced
 * in as the stored text, never re-parsed, so a prediction's exact values (INT64 beyond 2^53) stay
 * exactly what `/v1/predict` would have answered.
 */
import type { JobRecord } from "./types.js";

/** The job's URL on the async API. */
export function statusUrl(id: string): string {
  return `/v1/async/${encodeURIComponent(id)}`;
}

/** The job object as JSON text. */
export function jobJson(job: JobRecord): string {
  const view: Record<string, unknown> = {
    id: job.id,
    status: job.status,
    model: job.model,
  };
  if (job.version !== undefined) view.version = job.version;
  view.createdAt = new Date(job.createdAt).toISOString();
  if (job.startedAt !== undefined) view.startedAt = new Date(job.startedAt).toISOString();
  if (job.finishedAt !== undefined) view.finishedAt = new Date(job.finishedAt).toISOString();
  if (job.error !== undefined) view.error = job.error;
  if (job.webhook !== undefined) view.webhook = { url: job.webhook.url };
  view.statusUrl = statusUrl(job.id);
  const text = JSON.stringify(view);
  if (job.result === undefined) return text;
  return `${text.slice(0, -1)},"result":${job.result}}`;
}

/** A page of jobs as `{"data": [...], "next": cursor | null}` text. */
export function pageJson(jobs: readonly JobRecord[], next: string | null): string {
  return `{"data":[${jobs.map(jobJson).join(",")}],"next":${JSON.stringify(next)}}`;
}

/** The webhook event types of the final states. */
export type WebhookEventType = "async.succeeded" | "async.failed" | "async.cancelled";

/** The Standard Webhooks payload for a finished job. */
export function eventJson(job: JobRecord, at: number): string {
  const type = `async.${job.status}` as WebhookEventType;
  const head = JSON.stringify({ type, timestamp: new Date(at).toISOString() });
  return `${head.slice(0, -1)},"data":${jobJson(job)}}`;
}
