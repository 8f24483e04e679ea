/**
 * Checks the schema cannot express: names that must refer to something defined elsewhere in the
 * file (versions, labels, backends), and backend keys that must agree with the chosen protocol.
 *
 * The checks read the document defensively (`unknown`, narrowed at every step) so they can run
 * even when the schema rejected other parts of the file: `infergate validate` reports every
 * problem in one run. Values of the wrong type are skipped here; the schema reports those.
 */

import { isRecord } from "../is-record.js";
import { formatLine } from "./format.js";
import type { BackendConfig } from "./schema.js";
import type { DocPath } from "./yaml-document.js";

/** A backend the gateway reaches over the network (everything but in-process onnx). */
export type RemoteBackendConfig = Exclude<BackendConfig, { type: "onnx" }>;

/**
 * The protocol the gateway uses for a remote backend (docs/config.md "`backends.<name>`"): `protocol` when set, else
 * for tfserving and torchserve REST if `url` is set, else gRPC; for triton gRPC if `grpc` is set,
 * else REST.
 */
export function effectiveProtocol(backend: RemoteBackendConfig): "rest" | "grpc" {
  if (backend.protocol !== undefined) return backend.protocol;
  if (backend.type === "triton") return backend.grpc !== undefined ? "grpc" : "rest";
  return backend.url !== undefined ? "rest" : "grpc";
}

const REMOTE_TYPES: ReadonlySet<unknown> = new Set(["tfserving", "torchserve", "triton"]);

/**
 * Cross-reference errors of a config document (the interpolated YAML as plain JS, or a parsed
 * `GatewayConfig`), as `path: message` lines.
 */
export function checkReferences(doc: unknown): string[] {
  const errors: string[] = [];
  if (!isRecord(doc)) return errors;
  const backends = isRecord(doc.backends) ? doc.backends : undefined;
  if (backends !== undefined) {
    for (const [name, backend] of Object.entries(backends)) {
      checkBackendKeys(errors, ["backends", name], backend);
    }
  }
  if (isRecord(doc.models)) {
    for (const [name, model] of Object.entries(doc.models)) {
      if (isRecord(model)) checkModel(errors, ["models", name], model, backends);
    }
  }
  return errors;
}

function checkBackendKeys(errors: string[], path: DocPath, backend: unknown): void {
  if (!isRecord(backend) || !REMOTE_TYPES.has(backend.type)) return;
  const hasUrl = backend.url !== undefined;
  const hasGrpc = backend.grpc !== undefined;
  if (!hasUrl && !hasGrpc) {
    errors.push(formatLine(path, `a ${String(backend.type)} backend needs url or grpc`));
  } else if (backend.protocol === "rest" && !hasUrl) {
    errors.push(formatLine([...path, "url"], "required when protocol is rest"));
  } else if (backend.protocol === "grpc" && !hasGrpc) {
    errors.push(formatLine([...path, "grpc"], "required when protocol is grpc"));
  }
}

function checkModel(
  errors: string[],
  path: DocPath,
  model: Record<string, unknown>,
  backends: Record<string, unknown> | undefined,
): void {
  // Without a versions map every version reference would be "unknown"; the schema reports it.
  const versions = isRecord(model.versions) ? model.versions : undefined;
  const versionIds = versions === undefined ? undefined : new Set(Object.keys(versions));
  const checkVersion = (at: DocPath, value: unknown): void => {
    const id = versionId(value);
    if (versionIds !== undefined && id !== undefined && !versionIds.has(id)) {
      errors.push(formatLine(at, `unknown version ${JSON.stringify(id)}`));
    }
  };

  if (versions !== undefined) {
    for (const [id, target] of Object.entries(versions)) {
      checkTarget(errors, [...path, "versions", id], target, backends);
    }
  }
  if (Array.isArray(model.fallback)) {
    model.fallback.forEach((target, i) => {
      checkTarget(errors, [...path, "fallback", i], target, backends);
    });
  }
  if (isRecord(model.labels)) {
    for (const [label, value] of Object.entries(model.labels)) {
      const at = [...path, "labels", label];
      if (versionIds?.has(label)) {
        errors.push(formatLine(at, `label ${JSON.stringify(label)} shadows a version of that id`));
      }
      checkVersion(at, value);
    }
  }
  if (model.default !== undefined) checkVersion([...path, "default"], model.default);
  if (Array.isArray(model.traffic))
    checkTraffic(errors, [...path, "traffic"], model.traffic, checkVersion);
  if (isRecord(model.shadow)) checkVersion([...path, "shadow", "version"], model.shadow.version);
  if (isRecord(model.rollout)) {
    const rollout = model.rollout;
    checkVersion([...path, "rollout", "from"], rollout.from);
    checkVersion([...path, "rollout", "to"], rollout.to);
    if (
      versionId(rollout.from) !== undefined &&
      versionId(rollout.from) === versionId(rollout.to)
    ) {
      errors.push(formatLine([...path, "rollout", "to"], "must differ from rollout.from"));
    }
    const steps = rollout.steps;
    if (Array.isArray(steps) && steps.every((x) => typeof x === "number")) {
      const ascending = steps.every((x, i) => i === 0 || x > (steps[i - 1] as number));
      if (!ascending || steps[steps.length - 1] !== 100) {
        errors.push(formatLine([...path, "rollout", "steps"], "must ascend and end at 100"));
      }
    }
  }
}

function checkTraffic(
  errors: string[],
  path: DocPath,
  traffic: unknown[],
  checkVersion: (at: DocPath, value: unknown) => void,
): void {
  const firstIndex = new Map<string, number>();
  let allZero = traffic.length > 0;
  traffic.forEach((entry, i) => {
    if (!isRecord(entry)) {
      allZero = false;
      return;
    }
    const at = [...path, i, "version"];
    checkVersion(at, entry.version);
    const id = versionId(entry.version);
    if (id !== undefined) {
      const first = firstIndex.get(id);
      if (first !== undefined) {
        errors.push(
          formatLine(at, `version ${JSON.stringify(id)} already appears in traffic[${first}]`),
        );
      } else {
        firstIndex.set(id, i);
      }
    }
    if (entry.weight !== 0) allZero = false;
  });
  if (allZero) errors.push(formatLine(path, "all weights are 0; at least one must be positive"));
}

function checkTarget(
  errors: string[],
  path: DocPath,
  target: unknown,
  backends: Record<string, unknown> | undefined,
): void {
  if (!isRecord(target) || typeof target.backend !== "string" || backends === undefined) return;
  if (!Object.hasOwn(backends, target.backend)) {
    errors.push(
      formatLine([...path, "backend"], `unknown backend ${JSON.stringify(target.backend)}`),
    );
    return;
  }
  const backend = backends[target.backend];
  // TorchServe publishes no metadata: without declared tensors the gateway could neither check
  // inputs nor type the handler's answer.
  if (isRecord(backend) && backend.type === "torchserve") {
    for (const key of ["inputs", "outputs"] as const) {
      if (target[key] === undefined) {
        errors.push(
          formatLine(
            [...path, key],
            "required for a torchserve target (TorchServe publishes no metadata)",
          ),
        );
      }
    }
  }
}

/** A version id as the schema reads it (a string, or a non-negative integer as its decimal). */
export function versionId(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  return undefined;
}
