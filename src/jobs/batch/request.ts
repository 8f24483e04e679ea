/**
 * Checks a `POST /v1/batches` body (docs/batch.md "The API") into a {@link BatchSpec}. Postgres
 * locations are refused unless their host is in `jobs.postgres.allowedHosts`: otherwise a client
 * could make the gateway connect to any database its network reaches.
 */
import { InvalidRequestError } from "../../errors.js";
import { isRecord } from "../../is-record.js";
import type { JobsConfig } from "../config.js";
import { type BatchLocation, parseFormat, parseLocation } from "../io/open.js";
import { checkRelativePath } from "../io/paths.js";
import { checkWebhook, hostAllowed } from "../webhook.js";
import type { BatchSpec } from "./types.js";

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidRequestError(`"${field}" must be a non-empty string`);
  }
  return value;
}

/** Refuses a Postgres location whose host is not allowed. */
export function checkPostgresHost(location: BatchLocation, allowed: readonly string[]): void {
  if (!("postgres" in location)) return;
  if (allowed.length === 0) {
    throw new InvalidRequestError(
      "Postgres inputs and outputs are not enabled on this gateway (jobs.postgres.allowedHosts)",
    );
  }
  let url: URL;
  try {
    // hostAllowed matches http(s) URLs; the host and port rules are the same for postgres://.
    url = new URL(location.postgres.url.replace(/^postgres(ql)?:/, "http:"));
  } catch {
    throw new InvalidRequestError(`"postgres.url" is not a valid URL`);
  }
  if (url.port === "") url.port = "5432";
  if (!hostAllowed(url, allowed)) {
    throw new InvalidRequestError(`Postgres host "${url.host}" is not allowed`);
  }
}

function parseColumns(value: unknown): BatchSpec["columns"] {
  if (value === undefined || value === null) return undefined;
  const isNames = (v: unknown): v is string[] =>
    Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === "string" && c.length > 0);
  if (isNames(value)) return value;
  if (isRecord(value) && Object.values(value).every(isNames)) {
    return value as Record<string, string[]>;
  }
  throw new InvalidRequestError(`"columns" must be a list of column names or {input: [names]}`);
}

/** The checked batch request. */
export function parseBatchRequest(body: unknown, config: JobsConfig): BatchSpec {
  if (!isRecord(body)) throw new InvalidRequestError("the body must be a JSON object");
  const model = optionalString(body.model, "model");
  if (model === undefined) throw new InvalidRequestError(`"model" is required`);
  const version = optionalString(body.version, "version");
  const input = parseLocation(body.input, "input");
  const output = parseLocation(body.output, "output");
  for (const location of [input, output]) {
    if ("path" in location) checkRelativePath(location.path);
  }
  checkPostgresHost(input, config.postgres.allowedHosts);
  checkPostgresHost(output, config.postgres.allowedHosts);
  const format = parseFormat(body.format);
  const idField = optionalString(body.idField, "idField");
  const columns = parseColumns(body.columns);
  let maxErrors: number | undefined;
  if (body.maxErrors !== undefined && body.maxErrors !== null) {
    if (!Number.isSafeInteger(body.maxErrors) || (body.maxErrors as number) < 0) {
      throw new InvalidRequestError(`"maxErrors" must be a whole number, 0 or more`);
    }
    maxErrors = body.maxErrors as number;
  }
  const webhook =
    body.webhook === undefined || body.webhook === null
      ? undefined
      : checkWebhook(body.webhook, config.webhooks);
  return {
    model,
    input,
    output,
    format,
    ...(version === undefined ? {} : { version }),
    ...(idField === undefined ? {} : { idField }),
    ...(columns === undefined ? {} : { columns }),
    ...(maxErrors === undefined ? {} : { maxErrors }),
    ...(webhook === undefined ? {} : { webhook }),
  };
}
