/**
 * `${ENV_VAR}` substitution in config values (docs/config.md "Loading, validation and reload"). `$${X}` is an escape for a literal
 * `${X}`. Only values are substituted, never keys.
 */
import { type Document, isScalar, Scalar } from "yaml";
import { formatLine } from "./format.js";
import { type DocPath, forEachNode } from "./yaml-document.js";

/** The environment substitutions read from; `process.env` by default. */
export type Env = Readonly<Record<string, string | undefined>>;

export type InterpolatedString = { ok: true; value: string } | { ok: false; error: string };

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Substitutes every `${NAME}` in `text` from `env`. The error is the first problem found: an
 * unset variable, a malformed name (`${1X}`, `${A:-b}`), or a `${` with no closing brace.
 */
export function interpolateString(text: string, env: Env = process.env): InterpolatedString {
  let out = "";
  let i = 0;
  // Each pass consumes at least one character, so the loop ends within text.length passes.
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    if (text.startsWith("$${", dollar)) {
      out += "${";
      i = dollar + 3;
      continue;
    }
    if (!text.startsWith("${", dollar)) {
      out += "$";
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf("}", dollar + 2);
    if (close < 0) {
      return { ok: false, error: 'unterminated "${" (write "$${" for a literal "${")' };
    }
    const name = text.slice(dollar + 2, close);
    if (!VAR_NAME.test(name)) {
      return { ok: false, error: `invalid environment variable reference "\${${name}}"` };
    }
    const value = env[name];
    if (value === undefined) {
      return { ok: false, error: `environment variable ${name} is not set` };
    }
    out += value;
    i = close + 1;
  }
  return { ok: true, value: out };
}

/** Where interpolation failed; the loader hides later errors at these paths as consequences. */
export type InterpolationError = { path: DocPath; line: string };

/**
 * Substitutes `${NAME}` in every string value of a parsed YAML document, in place. A plain
 * (unquoted) scalar is re-typed after substitution, as if the value had been written there:
 * `port: ${PORT}` with PORT=9000 is the number 9000, while `port: "${PORT}"` stays a string.
 * Failing values are left unchanged; each failure is reported with its path.
 */
export function interpolateDocument(doc: Document, env: Env = process.env): InterpolationError[] {
  const errors: InterpolationError[] = [];
  forEachNode(doc, (node, path) => {
    if (!isScalar(node) || typeof node.value !== "string" || !node.value.includes("$")) return;
    const original = node.value;
    const result = interpolateString(original, env);
    if (!result.ok) {
      errors.push({ path, line: formatLine(path, result.error) });
      return;
    }
    const substituted = /\$\{/.test(original.replaceAll("$${", ""));
    node.value =
      substituted && node.type === Scalar.PLAIN ? plainScalarValue(result.value) : result.value;
  });
  return errors;
}

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** The YAML 1.2 core-schema reading of a plain scalar, limited to the types a config uses. */
function plainScalarValue(text: string): string | number | boolean {
  if (NUMBER.test(text)) return Number(text);
  if (text === "true" || text === "True" || text === "TRUE") return true;
  if (text === "false" || text === "False" || text === "FALSE") return false;
  return text;
}
