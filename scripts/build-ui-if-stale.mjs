#!/usr/bin/env node
/**
 * Builds the admin page (ui/ -> dist/ui, `vite build --config ui/vite.config.ts`) only when it
 * is stale: dist/ui/index.html is missing, or a file under ui/ or package-lock.json is newer than
 * it. Runs after build-if-stale.mjs in `npm ci` (prepare), `npm start` and `npm test`.
 * `--force` always builds. Without vite (a production install) an existing dist/ui is kept.
 *
 * Run from the project root: `node scripts/build-ui-if-stale.mjs [--force]`.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = process.cwd();
const OUTPUT = join(root, "dist/ui/index.html");

/** The newest modification time of the files below dir. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (entry.isFile()) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

/** Why dist/ui must be rebuilt, or undefined when it is up to date. */
function staleReason() {
  if (!existsSync(OUTPUT)) return "dist/ui/index.html is missing";
  const built = statSync(OUTPUT).mtimeMs;
  if (newest(join(root, "ui")) > built) return "ui/ changed";
  const lock = join(root, "package-lock.json");
  if (existsSync(lock) && statSync(lock).mtimeMs > built) return "package-lock.json changed";
  return undefined;
}

const reason = process.argv.includes("--force") ? "--force" : staleReason();
if (reason !== undefined) {
  let vite;
  try {
    vite = await import("vite");
  } catch {
    console.warn(`admin page not rebuilt (${reason}): vite is not installed`);
  }
  if (vite !== undefined) {
    await vite.build({ configFile: join(root, "ui/vite.config.ts"), logLevel: "warn" });
  }
}
