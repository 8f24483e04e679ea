/** The gateway's own version, read once from package.json (one level above both src/ and dist/). */
import { readFileSync } from "node:fs";

function readVersion(): string {
  const raw: unknown = JSON.parse(
    readFileSync(new URL("../package.json", import.meta.url), "utf8"),
  );
  if (
    typeof raw === "object" &&
    raw !== null &&
    "version" in raw &&
    typeof raw.version === "string"
  ) {
    return raw.version;
  }
  return "0.0.0";
}

/** infergate's version string. */
export const GATEWAY_VERSION = readVersion();
