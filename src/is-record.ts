/** The one "is this a plain object" check, for parsed JSON, YAML mappings and worker messages. */

/** True for an object that is not null and not an array (a JSON object, a YAML mapping). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
