/**
 * Checks that every target on an `onnx` backend has its model file, as the ONNX backend will look
 * for it: `<modelDir>/<model>/<version>/model.onnx`, the version being the target's or, when it
 * names none, the highest numbered directory that holds a model.onnx. Without this a missing file
 * passes `infergate validate` and every request to the target gets 503.
 *
 * Like references.ts it reads the document defensively (`unknown`), so it can run next to the
 * schema's errors; places those errors already cover (a `modelDir` whose variable is unset) are
 * skipped.
 */
import { join, resolve } from "node:path";
import {
  findModelFiles,
  MODEL_FILE,
  type ModelFile,
  VERSION_DIR,
} from "../backends/onnx/repository.js";
import { isRecord } from "../is-record.js";
import { formatLine, formatPath } from "./format.js";
import { versionId } from "./references.js";
import type { DocPath } from "./yaml-document.js";

/** What an onnx backend's repository holds, or undefined when it could not be read (reported). */
type Repository = { modelDir: string; files: ModelFile[] } | undefined;

/**
 * Model-file errors of a config document (interpolated YAML as plain JS) as `path: message`
 * lines. Relative `modelDir`s are resolved against `baseDir`, as the loader resolves them; the
 * lines show `modelDir` as written. `known` are the lines already reported for the document.
 */
export async function checkModelFiles(
  doc: unknown,
  baseDir: string,
  known: readonly string[],
): Promise<string[]> {
  const errors: string[] = [];
  if (!isRecord(doc) || !isRecord(doc.backends)) return errors;
  const covered = (path: DocPath): boolean => {
    const at = formatPath(path);
    return known.some((line) => line.startsWith(`${at}:`) || line.startsWith(`${at}.`));
  };
  const repositories = new Map<string, Repository>();
  for (const [name, backend] of Object.entries(doc.backends)) {
    if (!isRecord(backend) || backend.type !== "onnx" || typeof backend.modelDir !== "string") {
      continue;
    }
    const at: DocPath = ["backends", name, "modelDir"];
    if (covered(at)) {
      repositories.set(name, undefined);
      continue;
    }
    repositories.set(name, await readRepository(errors, at, backend.modelDir, baseDir));
  }
  if (!isRecord(doc.models)) return errors;
  for (const [modelName, model] of Object.entries(doc.models)) {
    if (!isRecord(model)) continue;
    const targets: Array<[DocPath, unknown]> = [];
    if (isRecord(model.versions)) {
      for (const [id, target] of Object.entries(model.versions)) {
        targets.push([["models", modelName, "versions", id], target]);
      }
    }
    if (Array.isArray(model.fallback)) {
      model.fallback.forEach((target, i) => {
        targets.push([["models", modelName, "fallback", i], target]);
      });
    }
    for (const [path, target] of targets) {
      if (!isRecord(target) || typeof target.backend !== "string") continue;
      const repository = repositories.get(target.backend);
      if (repository === undefined || covered(path)) continue;
      checkTarget(errors, path, target, modelName, repository);
    }
  }
  return errors;
}

async function readRepository(
  errors: string[],
  at: DocPath,
  modelDir: string,
  baseDir: string,
): Promise<Repository> {
  try {
    return { modelDir, files: await findModelFiles(resolve(baseDir, modelDir)) };
  } catch (err) {
    const code = errorCode(err instanceof Error ? err.cause : undefined) ?? errorCode(err);
    const what =
      code === "ENOENT"
        ? `directory ${modelDir} not found`
        : code === "ENOTDIR"
          ? `${modelDir} is not a directory`
          : `cannot read directory ${modelDir} (${err instanceof Error ? err.message : String(err)})`;
    errors.push(formatLine(at, what));
    return undefined;
  }
}

function checkTarget(
  errors: string[],
  path: DocPath,
  target: Record<string, unknown>,
  modelName: string,
  repository: NonNullable<Repository>,
): void {
  const model = typeof target.model === "string" && target.model !== "" ? target.model : modelName;
  const version = versionId(target.version);
  const { modelDir, files } = repository;
  if (version === undefined) {
    // No version: the backend serves the highest loadable one, so any will do.
    if (!files.some((f) => f.model === model)) {
      const pattern = join(modelDir, model, "<version>", MODEL_FILE);
      errors.push(formatLine(path, `no model file ${pattern} found`));
    }
    return;
  }
  if (!VERSION_DIR.test(version)) {
    errors.push(
      formatLine(
        [...path, "version"],
        `an onnx version is a numbered directory; ${JSON.stringify(version)} is not a number`,
      ),
    );
    return;
  }
  if (!files.some((f) => f.model === model && f.version === version)) {
    errors.push(
      formatLine(path, `model file ${join(modelDir, model, version, MODEL_FILE)} not found`),
    );
  }
}

function errorCode(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || !("code" in value)) return undefined;
  return typeof value.code === "string" ? value.code : undefined;
}
