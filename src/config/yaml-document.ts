/**
 * Parsing the config's YAML into a document tree (not plain JS yet), so interpolation can tell a
 * plain scalar (`port: ${PORT}`, typed after substitution) from a quoted one (always a string),
 * and every error can name the line and column or the key path it concerns.
 */
import {
  CST,
  type Document,
  isMap,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  type Node,
  parseDocument,
} from "yaml";
import { formatLine } from "./format.js";

/** Config files are small; this keeps a stray multi-megabyte file from being parsed at all. */
const MAX_TEXT_LENGTH = 4 * 1024 * 1024;

/** Far deeper than any config (about 6 levels), far shallower than what overflows yaml's stack. */
const MAX_NESTING = 128;

/** `{` and `}` are flow indicators, so `{ port: ${PORT} }` is not the plain scalar it looks like. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: the hint shows config syntax, not a template.
const QUOTE_HINT = "inside { } or [ ], quote a value that contains ${...}";

/** A key path into the document: strings for mapping keys, numbers for sequence indices. */
export type DocPath = (string | number)[];

export type ParsedYaml = { ok: true; doc: Document } | { ok: false; errors: string[] };

/**
 * Parses one YAML document. Syntax errors and duplicate keys come back as lines naming where they
 * are, never as a thrown error: `FILE:LINE:COLUMN: message` when `source` (the file's name) is
 * given, as editors and terminals link it, else `line L, column C: message`.
 */
export function parseYaml(text: string, source?: string): ParsedYaml {
  if (text.length > MAX_TEXT_LENGTH) {
    return { ok: false, errors: [`(root): config is larger than ${MAX_TEXT_LENGTH} characters`] };
  }
  const depth = nestingBound(text);
  if (depth > MAX_NESTING) {
    return { ok: false, errors: [`(root): config is nested deeper than ${MAX_NESTING} levels`] };
  }
  const lineCounter = new LineCounter();
  let doc: Document;
  try {
    // uniqueKeys (the default) makes `a: 1` twice an error; version 1.2 keeps `yes`/`no` strings.
    doc = parseDocument(text, {
      uniqueKeys: true,
      version: "1.2",
      prettyErrors: false,
      lineCounter,
    });
  } catch (err) {
    return { ok: false, errors: [`(root): cannot parse YAML: ${errorMessage(err)}`] };
  }
  if (doc.errors.length > 0) {
    // After a syntax error yaml reports every later token as unexpected too; only the first
    // means anything. Duplicate keys are independent of each other, so all of them are kept.
    const firstSyntax = doc.errors.find((e) => e.code !== "DUPLICATE_KEY");
    const shown = doc.errors.filter((e) => e.code === "DUPLICATE_KEY" || e === firstSyntax);
    const errors = shown.map((e) => {
      const at = e.pos[0];
      const hint = text.slice(at - 1, at + 1) === "${" ? ` (${QUOTE_HINT})` : "";
      return locateMessage(`${e.message}${hint}`, lineCounter.linePos(at), source);
    });
    return { ok: false, errors };
  }
  const duplicates = findStringifiedDuplicateKeys(doc);
  return duplicates.length > 0 ? { ok: false, errors: duplicates } : { ok: true, doc };
}

/**
 * Visits, in document order, every node reachable from the root through mapping values and
 * sequence items, with its key path. Mapping keys and alias nodes are not visited (an alias's
 * target is visited where it is defined). Iterative, so nesting depth cannot overflow the stack.
 */
export function forEachNode(doc: Document, visit: (node: Node, path: DocPath) => void): void {
  const root = doc.contents;
  if (root === null) return;
  const stack: { node: Node; path: DocPath }[] = [{ node: root, path: [] }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { node, path } = item;
    visit(node, path);
    // Children are pushed last-first so they are visited in document order.
    if (isMap(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) {
        const pair = node.items[i];
        if (pair !== undefined && isNode(pair.value)) {
          stack.push({ node: pair.value, path: [...path, keyString(pair.key)] });
        }
      }
    } else if (isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) {
        const child = node.items[i];
        if (isNode(child)) stack.push({ node: child, path: [...path, i] });
      }
    }
  }
}

/** The JS object key a YAML mapping key becomes (`1` -> "1", `~` -> ""), as yaml's toJS does. */
export function keyString(key: unknown): string {
  const value = isScalar(key) ? key.value : key;
  if (value === null || value === undefined) return "";
  return String(value);
}

/**
 * `1:` and `"1":` are different YAML keys but the same JS key, so yaml's own uniqueness check
 * passes and one would silently replace the other; a version map is where that bites.
 */
function findStringifiedDuplicateKeys(doc: Document): string[] {
  const errors: string[] = [];
  forEachNode(doc, (node, path) => {
    if (!isMap(node)) return;
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = keyString(pair.key);
      if (seen.has(key)) errors.push(formatLine([...path, key], "duplicate key"));
      seen.add(key);
    }
  });
  return errors;
}

function isNode(value: unknown): value is Node {
  return isScalar(value) || isMap(value) || isSeq(value);
}

function locateMessage(
  message: string,
  pos: { line: number; col: number },
  source: string | undefined,
): string {
  const where =
    source === undefined
      ? `line ${pos.line}, column ${pos.col}`
      : `${source}:${pos.line}:${pos.col}`;
  return `${where}: ${message.trim()}`;
}

/**
 * An upper bound on how deeply the text nests collections, from yaml's (iterative) lexer: open
 * flow brackets, plus a line's indentation, plus the indicators (`- `, `: `, `? `) on that line.
 * yaml composes documents recursively, and a stack overflow inside it can leave V8's regexp
 * engine unusable for the rest of the process, so a too-deep file must never reach it.
 */
export function nestingBound(text: string): number {
  let max = 0;
  let flow = 0;
  let indent = 0;
  let indicators = 0;
  let lineStart = true;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type === "newline") {
      indent = 0;
      indicators = 0;
      lineStart = true;
      continue;
    }
    if (type === "space" && lineStart) indent = token.length;
    else if (type === "flow-map-start" || type === "flow-seq-start") flow++;
    else if (type === "flow-map-end" || type === "flow-seq-end") flow = Math.max(0, flow - 1);
    else if (type === "seq-item-ind" || type === "map-value-ind" || type === "explicit-key-ind") {
      indicators++;
    }
    lineStart = false;
    // A comment's indentation nests nothing.
    if (type !== "space" && type !== "comment") max = Math.max(max, flow + indent + indicators);
  }
  return max;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
