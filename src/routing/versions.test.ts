import { describe, expect, it } from "vitest";
import type { ModelConfig } from "../config/schema.js";
import { compareVersions, defaultVersion, resolveVersion } from "./versions.js";

const target = { backend: "local" };
const fraud: ModelConfig = {
  versions: { "1": target, "2": target, "10": target },
  labels: { stable: "1", canary: "2" },
  default: "1",
  traffic: [
    { version: "1", weight: 90 },
    { version: "2", weight: 10 },
  ],
};
const noHeader = () => undefined;
const headers =
  (h: Record<string, string>) =>
  (name: string): string | undefined =>
    h[name];

describe("resolveVersion", () => {
  it("takes an explicit version id", () => {
    expect(resolveVersion("fraud", fraud, "2", noHeader)).toBe("2");
  });
  it("takes a label", () => {
    expect(resolveVersion("fraud", fraud, "canary", noHeader)).toBe("2");
  });
  it("takes the x-infergate-version header when the request names none", () => {
    expect(
      resolveVersion("fraud", fraud, undefined, headers({ "x-infergate-version": "10" })),
    ).toBe("10");
    expect(
      resolveVersion("fraud", fraud, undefined, headers({ "x-infergate-version": "canary" })),
    ).toBe("2");
  });
  it("prefers the path/body version over the header", () => {
    expect(resolveVersion("fraud", fraud, "1", headers({ "x-infergate-version": "2" }))).toBe("1");
  });
  it("uses the default for unversioned requests even with traffic (split comes later)", () => {
    expect(resolveVersion("fraud", fraud, undefined, noHeader)).toBe("1");
    expect(resolveVersion("fraud", fraud, "", headers({ "x-infergate-version": " " }))).toBe("1");
  });
  it("rejects an unknown version or label with VERSION_NOT_FOUND", () => {
    expect(() => resolveVersion("fraud", fraud, "3", noHeader)).toThrow(
      expect.objectContaining({
        code: "VERSION_NOT_FOUND",
        message: 'model "fraud" has no version or label "3"',
      }),
    );
    expect(() =>
      resolveVersion("fraud", fraud, undefined, headers({ "x-infergate-version": "beta" })),
    ).toThrow(expect.objectContaining({ code: "VERSION_NOT_FOUND" }));
  });
  it("does not treat inherited object keys as versions", () => {
    expect(() => resolveVersion("fraud", fraud, "constructor", noHeader)).toThrow(
      expect.objectContaining({ code: "VERSION_NOT_FOUND" }),
    );
  });
});

describe("defaultVersion", () => {
  it("is the latest version by number when no default is set", () => {
    const { default: _ignored, ...rest } = fraud;
    expect(defaultVersion(rest)).toBe("10");
  });
  it("orders numeric ids numerically and others as strings", () => {
    expect(["10", "9", "1"].sort(compareVersions)).toEqual(["1", "9", "10"]);
    expect(["b", "a"].sort(compareVersions)).toEqual(["a", "b"]);
  });
});
