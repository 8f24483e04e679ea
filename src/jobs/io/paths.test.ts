import { mkdir, realpath, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../../test/support/batch-io.js";
import { InvalidRequestError } from "../../errors.js";
import { resolveDataPath } from "./paths.js";
import { expandPathPlaceholders, isTimeZone } from "./placeholders.js";

let base: string;
let dataDir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: base, cleanup } = await tempDir());
  base = await realpath(base);
  dataDir = join(base, "data");
  await mkdir(join(dataDir, "in"), { recursive: true });
  await mkdir(join(base, "outside"));
  await writeFile(join(base, "outside", "secret.csv"), "x\n1\n");
  await writeFile(join(dataDir, "in", "ok.csv"), "x\n1\n");
});
afterEach(() => cleanup());

async function refused(path: string): Promise<string> {
  const err = await resolveDataPath(dataDir, path, { createParents: true }).catch((e) => e);
  expect(err).toBeInstanceOf(InvalidRequestError);
  return (err as Error).message;
}

describe("resolveDataPath", () => {
  it("resolves files and new outputs inside the data directory", async () => {
    expect(await resolveDataPath(dataDir, "in/ok.csv")).toBe(join(dataDir, "in", "ok.csv"));
    expect(await resolveDataPath(dataDir, "./out/2026/a.jsonl", { createParents: true })).toBe(
      join(dataDir, "out", "2026", "a.jsonl"),
    );
  });

  it("refuses every lexical escape", async () => {
    expect(await refused("")).toMatch(/is empty/);
    expect(await refused("../outside/secret.csv")).toMatch(/must not contain "\.\."/);
    expect(await refused("in/../../outside/secret.csv")).toMatch(/"\.\."/);
    expect(await refused("in\\..\\..\\x")).toMatch(/"\.\."/);
    expect(await refused(join(base, "outside", "secret.csv"))).toMatch(/must be relative/);
    expect(await refused("C:/Windows/x")).toMatch(/must be relative/);
    expect(await refused("\\\\server\\share")).toMatch(/must be relative/);
    expect(await refused("in/ok.csv\0.jsonl")).toMatch(/NUL/);
    expect(await refused("a/".repeat(600))).toMatch(/over 1024/);
  });

  it("refuses symlinks that lead outside: a linked file, a linked directory, a link to nothing", async () => {
    await symlink(join(base, "outside", "secret.csv"), join(dataDir, "in", "link.csv"));
    await symlink(join(base, "outside"), join(dataDir, "linkdir"));
    await symlink(join(base, "outside", "new.csv"), join(dataDir, "dangling.csv"));
    expect(await refused("in/link.csv")).toMatch(/symlink that leads outside/);
    expect(await refused("linkdir/secret.csv")).toMatch(/through a symlink/);
    expect(await refused("linkdir/sub/new.jsonl")).toMatch(/through a symlink/);
    expect(await refused("dangling.csv")).toMatch(/symlink to nothing/);
  });

  it("accepts symlinks that stay inside", async () => {
    await symlink(join(dataDir, "in"), join(dataDir, "alias"));
    expect(await resolveDataPath(dataDir, "alias/ok.csv")).toBe(join(dataDir, "alias", "ok.csv"));
  });
});

describe("expandPathPlaceholders", () => {
  const now = new Date("2026-03-07T23:30:05Z");
  it("expands {date} and {datetime} in UTC by default", () => {
    expect(expandPathPlaceholders("out/{date}/scores-{datetime}.csv", now)).toBe(
      "out/2026-03-07/scores-20260307T233005Z.csv",
    );
  });
  it("uses the given IANA time zone's wall clock", () => {
    expect(expandPathPlaceholders("{date}_{datetime}", now, "Europe/Berlin")).toBe(
      "2026-03-08_20260308T003005Z",
    );
    expect(expandPathPlaceholders("{date}", now, "America/Los_Angeles")).toBe("2026-03-07");
  });
  it("leaves other braces and refuses an unknown zone", () => {
    expect(expandPathPlaceholders("a{b}.csv", now)).toBe("a{b}.csv");
    expect(() => expandPathPlaceholders("{date}", now, "Mars/Olympus")).toThrow(
      InvalidRequestError,
    );
    expect(isTimeZone("Asia/Tokyo")).toBe(true);
    expect(isTimeZone("Nowhere/City")).toBe(false);
  });
});
