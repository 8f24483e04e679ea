/**
 * "Did you mean" for unknown config keys: the schema's keys at the unknown key's place, and the
 * one closest to what was written (`server.prot: unknown key (did you mean "port"?)`).
 */
import { z } from "zod";

/** Edits (insert, delete, substitute, swap two neighbours) within which a key is a likely typo. */
const MAX_DISTANCE = 2;
/** Keys are short; a longer unknown key is not a typo of one, and this bounds the work. */
const MAX_KEY_LENGTH = 64;
/** Wrappers and nesting in the config schema are a handful deep; a bound all the same. */
const MAX_UNWRAP = 16;

/**
 * Optimal-string-alignment distance between a and b: the Levenshtein distance where swapping two
 * adjacent characters (`prot` -> `port`) counts as one edit.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (rows[i - 2]?.[j - 2] as number) + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? Math.max(a.length, b.length);
}

/**
 * The known key closest to `key`, when it is within two edits and fewer edits than `key` has
 * characters (so `to` does not become `type`); ties go to the first known key.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  if (key.length > MAX_KEY_LENGTH) return undefined;
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance > MAX_DISTANCE || distance >= key.length) continue;
    if (best === undefined || distance < best.distance) best = { key: candidate, distance };
  }
  return best?.key;
}

/** Peels optional/default/nullable/pipe wrappers off a schema. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let i = 0; i < MAX_UNWRAP; i++) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
  return current;
}

/** The object schemas `schema` may be at this place; a union's options narrowed by `input`. */
function objectsOf(schema: z.ZodType, input: unknown): z.ZodObject[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) return [inner];
  if (inner instanceof z.ZodUnion) {
    const options = (inner.options as readonly z.ZodType[]).flatMap((o) => objectsOf(o, input));
    const discriminator = inner instanceof z.ZodDiscriminatedUnion ? inner.def.discriminator : "";
    const tag =
      typeof input === "object" && input !== null ? Reflect.get(input, discriminator) : undefined;
    const matching = options.filter((o) => {
      const field = o.shape[discriminator];
      return field instanceof z.ZodLiteral && field.values.has(tag as z.core.util.Literal);
    });
    return matching.length > 0 ? matching : options;
  }
  return [];
}

/** The schema at `path` below `schema` (record values and array items included). */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  for (const segment of path) {
    if (current === undefined) return undefined;
    const inner = unwrap(current);
    if (inner instanceof z.ZodRecord) current = inner.valueType as z.ZodType;
    else if (inner instanceof z.ZodArray) current = inner.element as z.ZodType;
    else if (inner instanceof z.ZodObject) current = inner.shape[String(segment)] as z.ZodType;
    else if (inner instanceof z.ZodUnion) current = optionField(inner, String(segment));
    else return undefined;
  }
  return current;
}

/** The first of a union's object options that has `key`, as that key's schema. */
function optionField(union: z.ZodUnion, key: string): z.ZodType | undefined {
  for (const option of union.options as readonly z.ZodType[]) {
    const inner = unwrap(option);
    if (inner instanceof z.ZodObject && Object.hasOwn(inner.shape, key)) {
      return inner.shape[key] as z.ZodType;
    }
  }
  return undefined;
}

/**
 * The keys `schema` knows at `path` (the object holding the unknown key). `input` is that object
 * as written, so a backend's `type` picks which backend's keys apply.
 */
export function knownKeysAt(
  schema: z.ZodType,
  path: readonly PropertyKey[],
  input: unknown,
): string[] {
  const at = schemaAt(schema, path);
  if (at === undefined) return [];
  return [...new Set(objectsOf(at, input).flatMap((o) => Object.keys(o.shape)))];
}
