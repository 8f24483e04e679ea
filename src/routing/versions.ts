/**
 * Model -> version resolution: an explicit version or label (path or body), else the
 * `x-infergate-version` header; these override any split. Else, when the model has a traffic
 * split, a pick from it (sticky by the model's `sticky.header` when the request carries it); else
 * the model's default. Also the checks of a traffic split set at run time.
 */
import { z } from "zod";
import { formatIssues, formatPath } from "../config/format.js";
import { checkReferences } from "../config/references.js";
import { type ModelConfig, trafficEntrySchema } from "../config/schema.js";
import { InvalidRequestError, VersionNotFoundError } from "../errors.js";
import type { HeaderLookup } from "../gateway/types.js";
import { type PickOptions, pickVersion, type SplitEntry } from "./split.js";

/** The header that pins a version, like the body field does (docs/traffic.md "Versions and labels"). */
export const VERSION_HEADER = "x-infergate-version";

/** Orders version ids numerically when both are integers, else as strings. */
export function compareVersions(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : Number.NaN;
  const nb = /^\d+$/.test(b) ? Number(b) : Number.NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The version unversioned requests go to: `default`, else the latest version id. */
export function defaultVersion(model: ModelConfig): string {
  if (model.default !== undefined) return model.default;
  const ids = Object.keys(model.versions).sort(compareVersions);
  const latest = ids[ids.length - 1];
  if (latest === undefined) throw new Error("model without versions passed validation");
  return latest;
}

/** Why a request reached its version (what `infergate explain` prints). */
export type VersionDecision =
  | {
      /** Named by the path/body version (`requested`) or the x-infergate-version header. */
      kind: "requested" | "header";
      version: string;
      asked: string;
      /** Set when `asked` was a label. */
      label?: string;
    }
  | { kind: "sticky"; version: string; header: string; key: string; split: readonly SplitEntry[] }
  | {
      kind: "random";
      version: string;
      split: readonly SplitEntry[];
      /** The model's sticky header, absent from this request. */
      stickyHeader?: string;
    }
  | { kind: "default"; version: string };

/** How unversioned requests are split; `split` defaults to the model's `traffic`. */
export interface ResolveOptions {
  split?: readonly SplitEntry[] | undefined;
  random?: PickOptions["random"];
  eligible?: PickOptions["eligible"];
  /** A sequence's id (docs/triton.md): without a sticky header, the same id picks the same version. */
  affinityKey?: string | undefined;
}

/**
 * Resolves the version id a request reaches. `requested` is the path or body version (a version
 * id or a label); it wins over the header, and both win over the split.
 */
export function resolveVersion(
  modelName: string,
  model: ModelConfig,
  requested: string | undefined,
  header: HeaderLookup,
  options: ResolveOptions = {},
): string {
  return decideVersion(modelName, model, requested, header, options).version;
}

/** {@link resolveVersion} with the reason for the choice. */
export function decideVersion(
  modelName: string,
  model: ModelConfig,
  requested: string | undefined,
  header: HeaderLookup,
  options: ResolveOptions = {},
): VersionDecision {
  const explicit = nonEmpty(requested);
  const asked = explicit ?? nonEmpty(header(VERSION_HEADER));
  if (asked !== undefined) {
    const kind = explicit !== undefined ? "requested" : "header";
    if (Object.hasOwn(model.versions, asked)) return { kind, version: asked, asked };
    const labelled =
      model.labels !== undefined && Object.hasOwn(model.labels, asked)
        ? model.labels[asked]
        : undefined;
    if (labelled !== undefined && Object.hasOwn(model.versions, labelled))
      return { kind, version: labelled, asked, label: asked };
    throw new VersionNotFoundError(modelName, asked);
  }
  const split = options.split ?? model.traffic;
  if (split === undefined || !split.some((e) => e.weight > 0)) {
    return { kind: "default", version: defaultVersion(model) };
  }
  const stickyHeader = model.sticky?.header.toLowerCase();
  const key = stickyHeader === undefined ? undefined : nonEmpty(header(stickyHeader));
  const pick: PickOptions = {};
  if (options.random !== undefined) pick.random = options.random;
  if (options.eligible !== undefined) pick.eligible = options.eligible;
  if (stickyHeader !== undefined && key !== undefined) {
    const version = pickVersion(split, { ...pick, stickyKey: key });
    return { kind: "sticky", version, header: stickyHeader, key, split };
  }
  if (options.affinityKey !== undefined) {
    const version = pickVersion(split, { ...pick, stickyKey: options.affinityKey });
    return { kind: "sticky", version, header: "sequence_id", key: options.affinityKey, split };
  }
  const version = pickVersion(split, pick);
  return stickyHeader === undefined
    ? { kind: "random", version, split }
    : { kind: "random", version, split, stickyHeader };
}

/** A run-time traffic split that breaks the rules the config file follows; `details` are `path: message` lines. */
export class TrafficInvalidError extends InvalidRequestError {
  constructor(details: readonly string[]) {
    super("invalid traffic split", { details });
  }
}

const trafficBodySchema = z.strictObject({ traffic: z.array(trafficEntrySchema).min(1) });

/**
 * The split in a POST /admin/models/{m}/traffic body, `{"traffic": [{version, weight}, ...]}`,
 * checked against the config schema; throws TrafficInvalidError with lines like
 * `traffic[1].weight: ...`.
 */
export function parseTrafficBody(body: unknown): SplitEntry[] {
  const parsed = trafficBodySchema.safeParse(body, { reportInput: true });
  if (!parsed.success) throw new TrafficInvalidError(formatIssues(parsed.error.issues));
  return parsed.data.traffic.map((e) => ({ version: e.version, weight: e.weight }));
}

/**
 * Checks a traffic split for `model` exactly as the config file's `traffic` is checked (the zod
 * schema, then the cross-references: versions exist, no duplicates, not all weights 0) and returns
 * it. Throws TrafficInvalidError whose lines address the split as `traffic[i].key`.
 */
export function checkTraffic(modelName: string, model: ModelConfig, raw: unknown): SplitEntry[] {
  const traffic = parseTrafficBody({ traffic: raw });
  const prefix = `${formatPath(["models", modelName])}.`;
  const errors = checkReferences({ models: { [modelName]: { ...model, traffic } } })
    .filter((line) => line.startsWith(`${prefix}traffic`))
    .map((line) => line.slice(prefix.length));
  if (errors.length > 0) throw new TrafficInvalidError(errors);
  return traffic;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}
