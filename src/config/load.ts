/**
 * Loading a routing config: YAML -> `${ENV}` interpolation -> zod schema -> cross-references.
 * Every error in the file is collected and reported in one result, as `path: what is wrong` lines
 * (docs/config.md "Loading, validation and reload", `infergate validate`). Nothing here throws for a bad file.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { formatIssues, formatPath } from "./format.js";
import { type Env, interpolateDocument } from "./interpolate.js";
import { checkModelFiles } from "./model-files.js";
import { checkReferences } from "./references.js";
import { configSchema, type GatewayConfig } from "./schema.js";
import { parseYaml } from "./yaml-document.js";

/** A loaded config, or every reason it is invalid. */
export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; errors: string[] };

export interface ParseOptions {
  /** Variables for `${NAME}`; default `process.env`. */
  env?: Env;
  /** Directory relative onnx `modelDir`s are resolved against; default the working directory. */
  baseDir?: string;
  /** The file the text came from; YAML syntax errors then name it (`FILE:LINE:COLUMN: ...`). */
  source?: string;
}

export interface LoadOptions {
  /** Variables for `${NAME}`; default `process.env`. */
  env?: Env;
}

/** yaml's default alias budget; bounds "billion laughs" expansion when converting to JS. */
const MAX_ALIAS_COUNT = 100;

/**
 * Parses and validates config text. Relative onnx `modelDir`s come back absolute. Only the text
 * is checked; loadConfigFile also checks that the onnx model files exist.
 */
export function parseConfigText(text: string, options: ParseOptions = {}): ConfigResult {
  return parseDocument(text, options).result;
}

/** parseConfigText's result, with the interpolated document as plain JS when the YAML parsed. */
function parseDocument(
  text: string,
  options: ParseOptions,
): { result: ConfigResult; raw?: unknown } {
  const parsed = parseYaml(text, options.source);
  if (!parsed.ok) return { result: parsed };

  const interpolationErrors = interpolateDocument(parsed.doc, options.env ?? process.env);
  let raw: unknown;
  try {
    raw = parsed.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const line = `(root): ${err instanceof Error ? err.message : String(err)}`;
    return { result: { ok: false, errors: [line] } };
  }

  const result = configSchema.safeParse(raw, { reportInput: true });
  const schemaErrors = result.success ? [] : formatIssues(result.error.issues, configSchema);
  const referenceErrors = checkReferences(raw);

  // A value whose variable is unset still holds "${X}"; what the schema then says about that
  // value is a consequence, not a second problem.
  const failedPaths = interpolationErrors.map((e) => `${formatPath(e.path)}:`);
  const consequence = (line: string): boolean => failedPaths.some((p) => line.startsWith(p));
  const errors = unique([
    ...interpolationErrors.map((e) => e.line),
    ...schemaErrors.filter((line) => !consequence(line)),
    ...referenceErrors.filter((line) => !consequence(line)),
  ]);

  if (!result.success || errors.length > 0) {
    return {
      result: { ok: false, errors: errors.length > 0 ? errors : ["(root): invalid config"] },
      raw,
    };
  }
  const config = resolvePaths(result.data, options.baseDir ?? process.cwd());
  return { result: { ok: true, config }, raw };
}

/**
 * Reads and validates a config file, and checks that every onnx target's model file exists (see
 * model-files.ts). Relative onnx `modelDir`s are resolved against the file's directory, so
 * `config/gateway.yaml` can say `modelDir: ../models`. An unreadable file is one error naming it.
 */
export async function loadConfigFile(
  path: string,
  options: LoadOptions = {},
): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { ok: false, errors: [`${path}: cannot read config file (${reason})`] };
  }
  const baseDir = dirname(resolve(path));
  const parseOptions: ParseOptions = { baseDir, source: path };
  if (options.env !== undefined) parseOptions.env = options.env;
  const { result, raw } = parseDocument(text, parseOptions);
  if (raw === undefined) return result;
  const known = result.ok ? [] : result.errors;
  const fileErrors = await checkModelFiles(raw, baseDir, known);
  if (fileErrors.length === 0) return result;
  return { ok: false, errors: [...known, ...fileErrors] };
}

/**
 * Relative paths of the file resolved against its directory, as the file's author reads them:
 * onnx `modelDir`s and the job store's `jobs.dir` and `jobs.dataDir` (so two configs in two
 * folders never share a job store by accident).
 */
function resolvePaths(config: GatewayConfig, baseDir: string): GatewayConfig {
  const against = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  const backends: GatewayConfig["backends"] = {};
  for (const [name, backend] of Object.entries(config.backends)) {
    backends[name] =
      backend.type === "onnx" ? { ...backend, modelDir: against(backend.modelDir) } : backend;
  }
  const jobs = {
    ...config.jobs,
    dir: against(config.jobs.dir),
    dataDir: against(config.jobs.dataDir),
  };
  return { ...config, backends, jobs };
}

function unique(lines: string[]): string[] {
  return [...new Set(lines)];
}
