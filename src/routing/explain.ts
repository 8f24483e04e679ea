/**
 * `infergate explain`: which version and target a request would reach, and why, from the config
 * alone (no backends, no breakers: every version counts as ready, splits are the file's).
 */
import type { GatewayConfig, ModelConfig } from "../config/schema.js";
import { ModelNotFoundError } from "../errors.js";
import { toTargetRef } from "../gateway/route.js";
import { formatWeights, type SplitEntry } from "./split.js";
import { decideVersion, VERSION_HEADER, type VersionDecision } from "./versions.js";

/** A request to explain: headers by name (any case) and an optional path/body version. */
export interface ExplainRequest {
  model: string;
  headers?: Readonly<Record<string, string>>;
  version?: string;
}

/** The decision and the lines that describe it. */
export interface Explanation {
  decision: VersionDecision;
  lines: string[];
}

/**
 * Explains how `request` would be routed under `config`. Throws ModelNotFoundError or
 * VersionNotFoundError like the gateway would.
 */
export function explainRoute(config: GatewayConfig, request: ExplainRequest): Explanation {
  const model = Object.hasOwn(config.models, request.model)
    ? config.models[request.model]
    : undefined;
  if (model === undefined) throw new ModelNotFoundError(request.model);
  const headers = new Map(
    Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const decision = decideVersion(
    request.model,
    model,
    request.version,
    (name) => headers.get(name),
    // The random pick is not reported: every version of the split is listed with its share.
    { random: () => 0 },
  );
  const lines = [`model ${request.model}`, reason(decision)];
  if (decision.kind === "random") {
    const total = decision.split.reduce((sum, e) => sum + e.weight, 0);
    for (const e of decision.split) {
      if (e.weight === 0) continue;
      const share = Math.round((1000 * e.weight) / total) / 10;
      lines.push(
        `version ${e.version} (${share}%) -> target ${target(request.model, model, e.version)}`,
      );
    }
  } else {
    lines.push(
      `version ${decision.version} -> target ${target(request.model, model, decision.version)}`,
    );
  }
  return { decision, lines };
}

function reason(d: VersionDecision): string {
  switch (d.kind) {
    case "requested":
      return d.label === undefined
        ? `requested version ${d.version}`
        : `requested label ${d.label} -> version ${d.version}`;
    case "header":
      return d.label === undefined
        ? `${VERSION_HEADER} header names version ${d.version}`
        : `${VERSION_HEADER} header names label ${d.label} -> version ${d.version}`;
    case "sticky":
      return `sticky header ${d.header}=${d.key} -> version ${d.version} by rendezvous hashing over ${split(d.split)}`;
    case "random":
      return `weighted random over ${split(d.split)} (${
        d.stickyHeader === undefined
          ? "no sticky header configured"
          : `no sticky header ${d.stickyHeader} on the request`
      })`;
    case "default":
      return `default -> version ${d.version} (no traffic split)`;
  }
}

/** `90/10 (versions 1/2)`. */
function split(entries: readonly SplitEntry[]): string {
  return `${formatWeights(entries)} (versions ${entries.map((e) => e.version).join("/")})`;
}

/** `backend/model/version`; a target without a version says `latest`. */
function target(modelName: string, model: ModelConfig, version: string): string {
  const config = model.versions[version];
  if (config === undefined) return "(none)";
  const ref = toTargetRef(modelName, config);
  return `${ref.backend}/${ref.model}/${ref.version ?? "latest"}`;
}
