/**
 * A submit becomes a job record (docs/async.md "Submitting"): the checks that do not depend on
 * the store (webhook URL, Idempotency-Key length) and the record's first state.
 */
import { randomUUID } from "node:crypto";
import { InvalidRequestError } from "../errors.js";
import type { JobsConfig } from "./config.js";
import type { JobRecord, PathParams } from "./types.js";
import { checkWebhook } from "./webhook.js";

/** A submit as the HTTP front parsed it. */
export interface SubmitInput {
  tenant: string;
  model: string;
  /** The version or label asked for, if any. */
  version?: string;
  body: string;
  path: PathParams;
  headers: Record<string, string>;
  webhook?: unknown;
  idempotencyKey?: string;
}

/** Longest Idempotency-Key accepted. */
const MAX_IDEMPOTENCY_KEY = 255;

/** The new queued job of a submit; throws InvalidRequestError for a bad webhook or key. */
export function newJobRecord(input: SubmitInput, config: JobsConfig): JobRecord {
  const now = Date.now();
  const job: JobRecord = {
    id: `job_${randomUUID().replaceAll("-", "")}`,
    tenant: input.tenant,
    status: "queued",
    model: input.model,
    createdAt: now,
    expiresAt: now + config.resultTtlSeconds * 1000,
    request: { body: input.body, headers: input.headers, path: input.path },
  };
  if (input.version !== undefined) job.version = input.version;
  if (input.webhook !== undefined) job.webhook = checkWebhook(input.webhook, config.webhooks);
  if (input.idempotencyKey !== undefined) {
    const key = input.idempotencyKey;
    if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY) {
      throw new InvalidRequestError(
        `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY} characters`,
      );
    }
    job.idempotencyKey = key;
  }
  return job;
}
