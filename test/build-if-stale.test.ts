/**
 * scripts/build-if-stale.mjs, which `npm start`, `npm test` and `npm run bench` run first: it
 * builds a project's dist/ only when a source is newer than its output or has none, so a fresh
 * `npm ci` (which builds) followed by `npm start` compiles once.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const SCRIPT = resolve(import.meta.dirname, "../scripts/build-if-stale.mjs");
const project = mkdtempSync(join(tmpdir(), "infergate-build-"));
afterAll(() => rmSync(project, { recursive: true, force: true }));

mkdirSync(join(project, "src"));
writeFileSync(
  join(project, "tsconfig.json"),
  JSON.stringify({ compilerOptions: { strict: true } }),
);
writeFileSync(
  join(project, "tsconfig.build.json"),
  JSON.stringify({
    extends: "./tsconfig.json",
    compilerOptions: { rootDir: "src", outDir: "dist", module: "NodeNext", target: "ES2022" },
    include: ["src"],
    exclude: ["src/**/*.test.ts"],
  }),
);
writeFileSync(join(project, "src/a.ts"), "export const a: number = 1;\n");
writeFileSync(join(project, "src/a.test.ts"), "export const t = 1;\n");

function run(): number | null {
  return spawnSync(process.execPath, [SCRIPT], { cwd: project, stdio: "pipe" }).status;
}
/** The mtime of the one output. */
function builtAt(): number {
  return statSync(join(project, "dist/a.js")).mtimeMs;
}
function age(path: string, seconds: number): void {
  const when = new Date(Date.now() - seconds * 1000);
  utimesSync(join(project, path), when, when);
}

describe("build-if-stale", () => {
  it("builds a missing dist/, then only when a source or tsconfig changed", () => {
    expect(run()).toBe(0);
    expect(statSync(join(project, "dist/a.js")).isFile()).toBe(true);
    age("src/a.ts", 120);
    age("src/a.test.ts", 120);
    age("tsconfig.json", 120);
    age("tsconfig.build.json", 120);
    age("dist/a.js", 60);
    const first = builtAt();

    expect(run()).toBe(0);
    expect(builtAt()).toBe(first);

    // A test file is not compiled into dist/, so changing it is no reason to build.
    age("src/a.test.ts", 0);
    expect(run()).toBe(0);
    expect(builtAt()).toBe(first);

    age("src/a.ts", 0);
    expect(run()).toBe(0);
    expect(builtAt()).toBeGreaterThan(first);

    age("src/a.ts", 120);
    age("dist/a.js", 60);
    age("tsconfig.build.json", 0);
    expect(run()).toBe(0);
    expect(builtAt()).toBeGreaterThan(first);

    rmSync(join(project, "dist/a.js"));
    expect(run()).toBe(0);
    expect(statSync(join(project, "dist/a.js")).isFile()).toBe(true);
  });

  it("fails when the build fails", () => {
    writeFileSync(join(project, "src/b.ts"), "export const b: number = 'x';\n");
    expect(run()).not.toBe(0);
    rmSync(join(project, "src/b.ts"));
  });
});
