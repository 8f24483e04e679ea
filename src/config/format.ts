/**
 * Turns zod issues into the `path.to.key: what is wrong` lines that `infergate validate` prints
 * (docs/config.md "Loading, validation and reload"). Zod's own messages ("Invalid input: expected number, received string") are
 * written for developers; these read like a config linter.
 */
import type { core, z } from "zod";
import { closestKey, knownKeysAt } from "./suggest.js";

type Issue = core.$ZodIssue;
type PathSegment = PropertyKey;

/** Unions nest only a few levels in our schema; the cap keeps a pathological schema bounded. */
const MAX_UNION_DEPTH = 8;

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * Formats a path the way docs/config.md prints it: dots for object keys, `[i]` for array indices
 * (`models.fraud.traffic[1].version`). Keys that would read ambiguously with dots (`a.b`, spaces,
 * the empty key) are quoted in brackets. The empty path is the document itself: `(root)`.
 */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") {
      out += `[${segment}]`;
    } else {
      const key = String(segment);
      if (PLAIN_KEY.test(key)) out += out === "" ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out === "" ? "(root)" : out;
}

/** One `path: message` line. */
export function formatLine(path: readonly PathSegment[], message: string): string {
  return `${formatPath(path)}: ${message}`;
}

/** A short name for the type of a value, as a YAML author would think of it. */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/**
 * Formats zod issues as lines, one per problem (an unknown-keys issue naming two keys gives two
 * lines). Pass issues from `safeParse(..., { reportInput: true })` so type errors can say what
 * was received. With the `schema` that was parsed, an unknown key that is a typo of a known one
 * says which (`server.prot: unknown key (did you mean "port"?)`).
 */
export function formatIssues(issues: readonly Issue[], schema?: z.ZodType): string[] {
  const lines: string[] = [];
  for (const issue of issues) appendIssue(lines, issue, [], 0, schema);
  return lines;
}

function appendIssue(
  lines: string[],
  issue: Issue,
  prefix: readonly PathSegment[],
  depth: number,
  schema: z.ZodType | undefined,
): void {
  const path = [...prefix, ...issue.path];
  switch (issue.code) {
    case "unrecognized_keys":
      for (const key of issue.keys) {
        lines.push(formatLine([...path, key], unknownKeyMessage(key, path, issue, schema)));
      }
      return;
    case "invalid_union":
      appendUnion(lines, issue, path, depth, schema);
      return;
    default:
      lines.push(formatLine(path, describeIssue(issue)));
  }
}

function unknownKeyMessage(
  key: string,
  path: readonly PathSegment[],
  issue: core.$ZodIssueUnrecognizedKeys,
  schema: z.ZodType | undefined,
): string {
  if (schema === undefined) return "unknown key";
  const input = "input" in issue ? issue.input : undefined;
  // A key written next to its typo (`port` and `prot`) is not what the typo meant.
  const written = typeof input === "object" && input !== null ? Object.keys(input) : [];
  const known = knownKeysAt(schema, path, input).filter((k) => !written.includes(k));
  const suggestion = closestKey(key, known);
  return suggestion === undefined ? "unknown key" : `unknown key (did you mean "${suggestion}"?)`;
}

/**
 * A discriminated union names its options. A plain union (a version id is a string or an
 * integer) is reported through the branch whose type matched, so `-1` reads `must be >= 0`
 * rather than a list of every alternative; when no branch's type matched, it lists the types.
 */
function appendUnion(
  lines: string[],
  issue: core.$ZodIssueInvalidUnion,
  path: readonly PathSegment[],
  depth: number,
  schema: z.ZodType | undefined,
): void {
  if (issue.discriminator !== undefined || issue.errors.length === 0) {
    const options = "options" in issue ? (issue.options?.map(String) ?? []) : [];
    lines.push(
      formatLine(path, options.length > 0 ? `expected one of ${options.join("|")}` : issue.message),
    );
    return;
  }
  const typeMismatch = (i: Issue): boolean => i.code === "invalid_type" && i.path.length === 0;
  const matched = issue.errors.find((branch) => branch.length > 0 && !branch.some(typeMismatch));
  if (matched !== undefined && depth < MAX_UNION_DEPTH) {
    for (const sub of matched) appendIssue(lines, sub, path, depth + 1, schema);
    return;
  }
  const expected = new Set<string>();
  for (const branch of issue.errors) {
    for (const sub of branch) if (sub.code === "invalid_type") expected.add(typeName(sub.expected));
  }
  const received = "input" in issue ? `, received ${describeType(issue.input)}` : "";
  const what =
    expected.size > 0 ? `expected ${[...expected].join(" or ")}${received}` : "invalid value";
  lines.push(formatLine(path, what));
}

function describeIssue(issue: Exclude<Issue, core.$ZodIssueInvalidUnion>): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined && "input" in issue) return "required";
      if (!("input" in issue)) return `expected ${typeName(issue.expected)}`;
      return `expected ${typeName(issue.expected)}, received ${describeType(issue.input)}`;
    case "too_small":
      return describeBound(issue.origin, issue.minimum, issue.inclusive !== false, "small");
    case "too_big":
      return describeBound(issue.origin, issue.maximum, issue.inclusive !== false, "big");
    case "invalid_format":
      if (issue.format === "url") return "expected an http:// or https:// URL";
      return issue.message.startsWith("Invalid") ? `invalid ${issue.format}` : issue.message;
    case "invalid_value":
      return `expected one of ${issue.values.map(String).join("|")}`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    case "invalid_key":
      return `invalid key: ${issue.issues.map((i) => i.message).join("; ")}`;
    default:
      return issue.message;
  }
}

function describeBound(
  origin: string,
  limit: number | bigint,
  inclusive: boolean,
  side: "small" | "big",
): string {
  if (origin === "string" || origin === "array") {
    const unit = origin === "string" ? "character" : "item";
    if (side === "small" && Number(limit) <= 1) return "must not be empty";
    const n = inclusive ? limit : side === "small" ? Number(limit) + 1 : Number(limit) - 1;
    return `must have at ${side === "small" ? "least" : "most"} ${n} ${unit}${n === 1 ? "" : "s"}`;
  }
  const op = side === "small" ? (inclusive ? ">=" : ">") : inclusive ? "<=" : "<";
  return `must be ${op} ${limit}`;
}

function typeName(expected: string): string {
  if (expected === "int") return "integer";
  if (expected === "record") return "object";
  return expected;
}
