import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BackendUnavailableError } from "../../errors.js";
import { resolveWorkerScript } from "./worker-script.js";

describe("resolveWorkerScript", () => {
  let root = "";
  const file = (rel: string, mtimeSeconds: number): string => {
    const path = join(root, rel);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, "");
    utimesSync(path, mtimeSeconds, mtimeSeconds);
    return path;
  };
  const source = (): string => pathToFileURL(join(root, "src/backends/onnx/worker-script.ts")).href;
  const error = (here: string): unknown => {
    try {
      resolveWorkerScript('onnx backend "b"', here);
    } catch (err) {
      return err;
    }
    return undefined;
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "infergate-script-"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("uses worker.js beside the compiled module", () => {
    file("dist/backends/onnx/worker-script.js", 100);
    const worker = file("dist/backends/onnx/worker.js", 100);
    const here = pathToFileURL(join(root, "dist/backends/onnx/worker-script.js")).href;
    expect(fileURLToPath(resolveWorkerScript("b", here))).toBe(worker);
  });

  it("says the install is broken when the compiled module has no worker.js beside it", () => {
    const here = pathToFileURL(join(root, "dist/backends/onnx/worker-script.js")).href;
    const err = error(here);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toContain(join(root, "dist/backends/onnx/worker.js"));
  });

  it("from the sources, uses the build under dist/ when it is up to date", () => {
    file("src/backends/onnx/worker.ts", 100);
    file("src/backends/onnx/worker.test.ts", 500); // tests are not built: never stale
    file("src/tensor/types.ts", 100);
    file("src/errors.ts", 100);
    const worker = file("dist/backends/onnx/worker.js", 200);
    file("dist/tensor/types.js", 200);
    file("dist/errors.js", 200);
    expect(fileURLToPath(resolveWorkerScript("b", source()))).toBe(worker);
  });

  it("from the sources, asks for a build when dist/ has no worker", () => {
    file("src/backends/onnx/worker.ts", 100);
    const err = error(source());
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toBe(
      `onnx backend "b": workers run compiled code and ${join(root, "dist/backends/onnx/worker.js")} does not exist; run \`npm run build\``,
    );
  });

  it("from the sources, refuses a build older than a source the worker runs", () => {
    file("src/backends/onnx/worker.ts", 100);
    file("src/backends/onnx/codec.ts", 300);
    file("src/errors.ts", 300);
    file("dist/backends/onnx/worker.js", 200);
    file("dist/backends/onnx/codec.js", 200);
    file("dist/errors.js", 200);
    const err = error(source());
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toBe(
      'onnx backend "b": the worker\'s build in dist/ is older than src/errors.ts (and 1 more); run `npm run build`',
    );
  });

  it("from the sources, refuses a build missing a module the worker imports", () => {
    file("src/backends/onnx/worker.ts", 100);
    file("src/backends/onnx/session-pool.ts", 100);
    file("dist/backends/onnx/worker.js", 200);
    expect((error(source()) as Error).message).toMatch(
      /older than src\/backends\/onnx\/session-pool\.ts/,
    );
  });
});
