/**
 * Finds the model files of a Triton-style model repository:
 * `<modelDir>/<model>/<version>/model.onnx`, where a version is a directory named by digits.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { BackendUnavailableError } from "../../errors.js";
import { compareVersions } from "./metadata.js";

/** One model version's file. */
export interface ModelFile {
  model: string;
  version: string;
  path: string;
}

/** A version directory is named by digits only; others are not loaded. */
export const VERSION_DIR = /^\d+$/;
/** The file name Triton's onnxruntime backend loads by default. */
export const MODEL_FILE = "model.onnx";

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Every `<model>/<version>/model.onnx` under modelDir, sorted by model name then numeric version.
 * Hidden entries, plain files and non-numeric directories are skipped (Triton ignores them too);
 * a version directory without model.onnx is skipped as not loadable. A missing or unreadable
 * modelDir is a BackendUnavailableError naming it.
 */
export async function findModelFiles(modelDir: string): Promise<ModelFile[]> {
  let models: string[];
  try {
    const entries = await readdir(modelDir, { withFileTypes: true });
    models = entries.filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new BackendUnavailableError(`onnx modelDir "${modelDir}" cannot be read: ${reason}`, {
      cause: err,
    });
  }
  const files: ModelFile[] = [];
  for (const model of models.sort()) {
    const entries = await readdir(join(modelDir, model), { withFileTypes: true });
    const versions = entries
      .filter((e) => e.isDirectory() && VERSION_DIR.test(e.name))
      .map((e) => e.name)
      .sort(compareVersions);
    for (const version of versions) {
      const path = join(modelDir, model, version, MODEL_FILE);
      if (await isFile(path)) files.push({ model, version, path });
    }
  }
  return files;
}
