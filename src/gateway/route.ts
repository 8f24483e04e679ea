/**
 * A resolved route: one model version of one config snapshot. Holding the service it came from is
 * what lets a request in flight finish on the routes it started with after a reload.
 */
import type { TargetRef } from "../backends/types.js";
import type { ModelConfig, TargetConfig } from "../config/schema.js";
import type { Route } from "./types.js";
import type { VersionRecord } from "./version-record.js";

/** The concrete Route the gateway service hands out; `owner` is the snapshot's service. */
export class ResolvedRoute<Owner = unknown> implements Route {
  readonly backend: string;
  readonly target: TargetRef;

  constructor(
    readonly owner: Owner,
    readonly model: string,
    readonly version: string,
    readonly modelConfig: ModelConfig,
    /** The version's record of the owner's snapshot: its state and fallback list. */
    readonly record: VersionRecord,
  ) {
    this.target = record.state.target;
    this.backend = this.target.backend;
  }
}

/** A config target with its defaults applied: `model` defaults to the gateway's model name. */
export function toTargetRef(modelName: string, target: TargetConfig): TargetRef {
  const ref: TargetRef = { backend: target.backend, model: target.model ?? modelName };
  if (target.version !== undefined) ref.version = target.version;
  if (target.signature !== undefined) ref.signature = target.signature;
  if (target.inputs !== undefined) ref.inputs = target.inputs;
  if (target.outputs !== undefined) ref.outputs = target.outputs;
  return ref;
}

/** The target id: a stable name of one backend target, for its metadata and cache namespace. */
export function targetId(target: TargetRef): string {
  return JSON.stringify([
    target.backend,
    target.model,
    target.version ?? "",
    target.signature ?? "",
  ]);
}
