/**
 * scripts/build-ui-if-stale.mjs, which `npm ci` (prepare), `npm start` and `npm test` run: it
 * builds the admin page into dist/ui only when dist/ui is missing or a file under ui/ is newer.
 */
import { spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const SCRIPT = resolve(import.meta.dirname, "../../scripts/build-ui-if-stale.mjs");
const project = mkdtempSync(join(tmpdir(), "infergate-ui-build-"));
afterAll(() => rmSync(project, { recursive: true, force: true }));

mkdirSync(join(project, "ui/src"), { recursive: true });
// No imports: the temp project has no node_modules of its own.
writeFileSync(
  join(project, "ui/vite.config.ts"),
  `export default { root: ${JSON.stringify(join(project, "ui"))}, base: "/ui/", logLevel: "silent",
  build: { outDir: ${JSON.stringify(join(project, "dist/ui"))}, emptyOutDir: true } };\n`,
);
writeFileSync(
  join(project, "ui/index.html"),
  '<!doctype html><div id="app"></div><script type="module" src="./src/main.js"></script>\n',
);
writeFileSync(join(project, "ui/src/main.js"), 'console.log("marker-one");\n');

const OUTPUT = join(project, "dist/ui/index.html");
function run(): number | null {
  return spawnSync(process.execPath, [SCRIPT], { cwd: project, stdio: "pipe" }).status;
}
function age(path: string, seconds: number): void {
  const when = new Date(Date.now() - seconds * 1000);
  utimesSync(path, when, when);
}
/** The built bundle's text. */
function bundle(): string {
  const html = readFileSync(OUTPUT, "utf8");
  const src = /src="\/ui\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
  if (src === undefined) throw new Error(`no bundle in ${html}`);
  return readFileSync(join(project, "dist/ui", src), "utf8");
}

describe("build-ui-if-stale", () => {
  it("builds a missing dist/ui, then only when a file under ui/ changed", () => {
    expect(run()).toBe(0);
    expect(bundle()).toContain("marker-one");
    for (const file of ["ui/vite.config.ts", "ui/index.html", "ui/src/main.js"]) {
      age(join(project, file), 120);
    }
    age(OUTPUT, 60);
    const first = statSync(OUTPUT).mtimeMs;

    expect(run()).toBe(0);
    expect(statSync(OUTPUT).mtimeMs).toBe(first);

    writeFileSync(join(project, "ui/src/main.js"), 'console.log("marker-two");\n');
    expect(run()).toBe(0);
    expect(bundle()).toContain("marker-two");
  }, 60_000);

  it("fails when the build fails", () => {
    writeFileSync(join(project, "ui/src/main.js"), "import './missing.js';\n");
    expect(run()).not.toBe(0);
  }, 60_000);
});
