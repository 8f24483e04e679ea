#!/usr/bin/env node
/**
 * Builds dist/ (`tsc -p tsconfig.build.json`) only when it is stale, so `npm ci` (prepare) builds
 * and a following `npm start` or `npm test` does not build again. Stale means: a source that
 * tsconfig.build.json compiles has no output in dist/, or is newer than its output, or a tsconfig
 * is newer than the oldest output. `--force` always builds.
 *
 * Run from the project root: `node scripts/build-if-stale.mjs [--force]`.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = process.cwd();
const BUILD_CONFIG = "tsconfig.build.json";

/** `src/** /*.test.ts`-style globs (tsconfig's `exclude`) as regular expressions. */
function globToRegExp(glob) {
  const literal = (s) => s.replace(/[.+^${}()|[\]\\?]/g, "\\$&");
  const parts = glob.split("**/").map((part) => part.split("*").map(literal).join("[^/]*"));
  return new RegExp(`^${parts.join("(?:.*/)?")}$`);
}

/** Every file below dir, as paths relative to root with forward slashes. */
function filesBelow(dir) {
  const out = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...filesBelow(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

function mtime(path) {
  return statSync(join(root, path)).mtimeMs;
}

/** Why dist/ must be rebuilt, or undefined when it is up to date. */
function staleReason() {
  const config = JSON.parse(readFileSync(join(root, BUILD_CONFIG), "utf8"));
  const rootDir = config.compilerOptions?.rootDir ?? "src";
  const outDir = config.compilerOptions?.outDir ?? "dist";
  const excluded = (config.exclude ?? []).map(globToRegExp);
  const sources = filesBelow(rootDir).filter(
    (f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !excluded.some((re) => re.test(f)),
  );
  let oldestOutput = Number.POSITIVE_INFINITY;
  for (const source of sources) {
    const output = `${outDir}/${relative(rootDir, source).replace(/\.ts$/, ".js")}`;
    if (!existsSync(join(root, output))) return `${output} is missing`;
    const built = mtime(output);
    if (mtime(source) > built) return `${source} changed`;
    oldestOutput = Math.min(oldestOutput, built);
  }
  for (const file of ["tsconfig.json", BUILD_CONFIG]) {
    if (existsSync(join(root, file)) && mtime(file) > oldestOutput) return `${file} changed`;
  }
  return undefined;
}

const force = process.argv.includes("--force");
const reason = force ? "--force" : staleReason();
if (reason !== undefined) {
  // typescript exports only package.json of the paths we need; its bin sits beside it.
  const pkg = fileURLToPath(import.meta.resolve("typescript/package.json"));
  const tsc = join(dirname(pkg), JSON.parse(readFileSync(pkg, "utf8")).bin.tsc);
  const run = spawnSync(process.execPath, [tsc, "-p", BUILD_CONFIG], {
    cwd: root,
    stdio: "inherit",
  });
  process.exitCode = run.status ?? 1;
  // tsc writes 0644; the package's bin (`npx infergate`) must be executable to run.
  const bin = join(root, "dist/cli.js");
  if (run.status === 0 && existsSync(bin)) chmodSync(bin, 0o755);
}
