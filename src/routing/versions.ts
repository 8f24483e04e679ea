/**
 * Model -> version resolution (first cut): an explicit version or label, else the
 * `x-infergate-version` header, else the model's default. Weighted splits and stickiness come
 * later; until then a model with `traffic` uses its default.
 */
import type { ModelConfig } from "../config/schema.js";
import { VersionNotFoundError } from "../errors.js";
import type { HeaderLookup } from "../gateway/types.js";

/** The header that pins a version, like the body field does (SPEC 3). */
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

/**
 * Resolves the version id a request reaches. `requested` is the path or body version (a version
 * id or a label); it wins over the header.
 */
export function resolveVersion(
  modelName: string,
  model: ModelConfig,
  requested: string | undefined,
  header: HeaderLookup,
): string {
  const asked = nonEmpty(requested) ?? nonEmpty(header(VERSION_HEADER));
  if (asked === undefined) return defaultVersion(model);
  if (Object.hasOwn(model.versions, asked)) return asked;
  const labelled =
    model.labels !== undefined && Object.hasOwn(model.labels, asked)
      ? model.labels[asked]
      : undefined;
  if (labelled !== undefined && Object.hasOwn(model.versions, labelled)) return labelled;
  throw new VersionNotFoundError(modelName, asked);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}
