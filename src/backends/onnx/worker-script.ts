/**
 * Finds the ONNX worker thread's entry, worker.js.
 *
 * Node 20 cannot run TypeScript in a worker thread: a Worker is a fresh Node module loader, and
 * vitest's on-the-fly transpilation of src/*.ts does not reach it. So the worker always runs the
 * compiled JavaScript of worker.ts:
 * - in production this module is itself dist/backends/onnx/worker-script.js, and worker.js sits
 *   beside it;
 * - when this module runs from its TypeScript source (tests under vitest), the build output of the
 *   same file, <repo>/dist/backends/onnx/worker.js, is used. `npm test` builds first (pretest).
 *   Because a stale build would silently run old code in the worker, the sources the worker is
 *   built from must not be newer than their build output.
 * Either problem is a BackendUnavailableError saying to run `npm run build`, raised before any
 * worker starts, so a missing build fails fast instead of hanging a test or the gateway.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BackendUnavailableError } from "../../errors.js";

/** The worker entry's file name, beside the compiled adapter. */
export const WORKER_FILE = "worker.js";

/** Source folders (under src/) the worker's code comes from, for the staleness check. */
const WORKER_SOURCE_DIRS = ["backends/onnx", "tensor"];
const WORKER_SOURCE_FILES = ["errors.ts"];

function mtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** `<srcRoot>/<rel>.ts` files whose `<distRoot>/<rel>.js` is missing or older. */
function staleOutputs(srcRoot: string, distRoot: string): string[] {
  const sources = [
    ...WORKER_SOURCE_FILES,
    ...WORKER_SOURCE_DIRS.flatMap((dir) => {
      const entries = existsSync(join(srcRoot, dir)) ? readdirSync(join(srcRoot, dir)) : [];
      return entries
        .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.endsWith(".d.ts"))
        .filter((f) => !f.startsWith("test-") && !f.startsWith("fake-"))
        .map((f) => `${dir}/${f}`);
    }),
  ];
  return sources.filter((rel) => {
    const source = mtime(join(srcRoot, rel));
    const built = mtime(join(distRoot, rel.replace(/\.ts$/, ".js")));
    return source !== undefined && (built === undefined || built < source);
  });
}

/**
 * The worker entry to start, for a module at `here` (this module's own URL by default; tests
 * pass another to check the rules). Throws BackendUnavailableError naming what is missing or stale.
 */
export function resolveWorkerScript(label: string, here: string = import.meta.url): URL {
  const beside = new URL(WORKER_FILE, here);
  if (existsSync(fileURLToPath(beside))) return beside;
  if (!fileURLToPath(here).endsWith(".ts")) {
    throw new BackendUnavailableError(
      `${label}: the worker script ${fileURLToPath(beside)} does not exist; reinstall or rebuild`,
    );
  }
  // Running from src/backends/onnx/*.ts: the repository root is three levels up.
  const built = new URL(`../../../dist/backends/onnx/${WORKER_FILE}`, here);
  const builtPath = fileURLToPath(built);
  if (!existsSync(builtPath)) {
    throw new BackendUnavailableError(
      `${label}: workers run compiled code and ${builtPath} does not exist; run \`npm run build\``,
    );
  }
  const stale = staleOutputs(
    fileURLToPath(new URL("../../", here)),
    fileURLToPath(new URL("../../../dist/", here)),
  );
  if (stale.length > 0) {
    throw new BackendUnavailableError(
      `${label}: the worker's build in dist/ is older than src/${stale[0]}` +
        `${stale.length > 1 ? ` (and ${stale.length - 1} more)` : ""}; run \`npm run build\``,
    );
  }
  return built;
}
