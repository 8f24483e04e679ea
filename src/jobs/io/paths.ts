/**
 * Paths a client names (batch inputs and outputs, uploaded files) are confined to the data
 * directory: relative, no `..`, no NUL, and no symlink that leads outside it. The realpath checks
 * run on the deepest existing ancestor and on the target when it exists, so a symlinked directory
 * or file planted inside the data directory cannot point a batch at /etc or another tenant's tree.
 */
import { lstat, mkdir, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { InvalidRequestError } from "../../errors.js";

/** Longest relative path accepted, in characters (well under PATH_MAX with the data dir). */
export const MAX_PATH_LENGTH = 1024;

/** Options for resolving a client path. */
export interface ResolveOptions {
  /** Create missing parent directories (for outputs), each checked to stay inside. */
  readonly createParents?: boolean;
}

function refuse(path: string, why: string): never {
  throw new InvalidRequestError(`path ${JSON.stringify(path)} ${why}`);
}

/** The lexical checks: a non-empty relative path without NUL, `..`, or a drive/UNC prefix. */
export function checkRelativePath(path: string): void {
  if (typeof path !== "string" || path.length === 0) refuse(String(path), "is empty");
  if (path.length > MAX_PATH_LENGTH) refuse(path.slice(0, 64), `is over ${MAX_PATH_LENGTH} chars`);
  if (path.includes("\0")) refuse(path.replaceAll("\0", "\\0"), "contains a NUL byte");
  // Backslashes and drive letters are checked on every OS so a path means the same everywhere.
  if (isAbsolute(path) || path.startsWith("\\") || /^[A-Za-z]:/.test(path)) {
    refuse(path, "must be relative to the data directory");
  }
  if (path.split(/[\\/]/).some((segment) => segment === "..")) {
    refuse(path, `must not contain ".."`);
  }
}

function inside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/** realpath, or undefined when the path does not exist. */
async function realOrMissing(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

async function isSymlink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The realpath of the deepest ancestor of `path` that exists. */
async function existingAncestor(path: string): Promise<string> {
  let current = path;
  for (;;) {
    const real = await realOrMissing(current);
    if (real !== undefined) return real;
    const parent = dirname(current);
    if (parent === current) return current;
    current = parent;
  }
}

/**
 * The absolute path of `path` inside `dataDir`, or INVALID_REQUEST when it could reach outside
 * (lexically or through a symlink). Missing files are fine (outputs); a missing data directory is
 * created.
 */
export async function resolveDataPath(
  dataDir: string,
  path: string,
  options: ResolveOptions = {},
): Promise<string> {
  checkRelativePath(path);
  await mkdir(dataDir, { recursive: true });
  const root = await realpath(dataDir);
  const target = join(root, path);
  if (!inside(root, target)) refuse(path, "leaves the data directory");
  const ancestor = await existingAncestor(dirname(target));
  if (!inside(root, ancestor)) refuse(path, "leads outside the data directory through a symlink");
  const existing = await realOrMissing(target);
  if (existing !== undefined && !inside(root, existing)) {
    refuse(path, "is a symlink that leads outside the data directory");
  }
  if (existing === undefined && (await isSymlink(target))) {
    refuse(path, "is a symlink to nothing (its target cannot be checked)");
  }
  if (options.createParents) {
    await mkdir(dirname(target), { recursive: true });
    // A directory swapped for a symlink between the checks and mkdir is caught here.
    const parent = await realpath(dirname(target));
    if (!inside(root, parent)) refuse(path, "leads outside the data directory through a symlink");
  }
  return target;
}
