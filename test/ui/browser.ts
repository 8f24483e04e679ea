/**
 * Debian's chromium driven by playwright-core for the admin page tests. Without the browser the
 * tests skip with a warning naming the apt line, unless CI is set (then they fail).
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM = process.env.INFERGATE_CHROMIUM ?? "/usr/bin/chromium";
/** What installs it. */
export const APT_LINE = "apt-get install -y --no-install-recommends chromium";

// Headless, no sandbox (root in a container), and nothing that reaches beyond loopback.
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-default-apps",
  "--disable-domain-reliability",
  "--disable-client-side-phishing-detection",
  "--disable-sync",
  "--disable-extensions",
  "--metrics-recording-only",
  "--no-first-run",
  "--no-default-browser-check",
];

/** True when the browser is there; otherwise warns (or throws under CI). */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const missing = `no ${CHROMIUM} (install it with: ${APT_LINE})`;
  if (process.env.CI) throw new Error(`the admin page tests need chromium: ${missing}`);
  console.warn(`admin page tests skipped: ${missing}`);
  return false;
}

/** Launches the browser. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
}
