/** Shared pieces of the access tests: key hashes, headers, error codes, a two-model config. */
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MODELS_DIR } from "./harness.js";

/** The sha256 hex of a key, as `auth.keys[].hash` wants it. */
export const sha = (key: string): string => createHash("sha256").update(key).digest("hex");

/** `Authorization: Bearer <key>`. */
export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** The `error.code` of a unified-API error body. */
export const codeOf = (body: unknown): string | undefined =>
  (body as { error?: { code?: string } }).error?.code;

/** A `jobs:` line with a fresh job store directory, so parallel test files never share one. */
export function ownJobsDir(): string {
  return `jobs: { dir: "${mkdtempSync(join(tmpdir(), "infergate-jobs-"))}" }`;
}

/** Backends and the models iris and ops (in process), then `extra` top-level YAML. */
export function irisAndOps(extra: string): string {
  return `${ownJobsDir()}
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  iris:
    versions: { "1": { backend: local, model: iris, version: "1" } }
  ops:
    versions: { "1": { backend: local, model: ops } }
${extra}`;
}
