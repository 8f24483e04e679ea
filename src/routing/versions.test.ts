import { describe, expect, it } from "vitest";
import type { ModelConfig } from "../config/schema.js";
import {
  checkTraffic,
  compareVersions,
  decideVersion,
  defaultVersion,
  parseTrafficBody,
  resolveVersion,
  TrafficInvalidError,
} from "./versions.js";

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
  it("uses the default for unversioned requests of a model without traffic", () => {
    const { traffic: _t, ...plain } = fraud;
    expect(resolveVersion("fraud", plain, undefined, noHeader)).toBe("1");
    expect(resolveVersion("fraud", plain, "", headers({ "x-infergate-version": " " }))).toBe("1");
  });
  it("splits unversioned requests by the model's traffic", () => {
    expect(resolveVersion("fraud", fraud, undefined, noHeader, { random: () => 0.5 })).toBe("1");
    expect(resolveVersion("fraud", fraud, undefined, noHeader, { random: () => 0.95 })).toBe("2");
    expect(resolveVersion("fraud", fraud, "", noHeader, { random: () => 0.95 })).toBe("2");
  });
  it("lets an explicit version, label or header override the split", () => {
    const random = () => 0.95;
    expect(resolveVersion("fraud", fraud, "1", noHeader, { random })).toBe("1");
    expect(resolveVersion("fraud", fraud, "stable", noHeader, { random })).toBe("1");
    expect(
      resolveVersion("fraud", fraud, undefined, headers({ "x-infergate-version": "1" }), {
        random,
      }),
    ).toBe("1");
  });
  it("prefers the given split over the model's traffic and skips ineligible versions", () => {
    const split = [
      { version: "1", weight: 0 },
      { version: "10", weight: 1 },
    ];
    expect(resolveVersion("fraud", fraud, undefined, noHeader, { split })).toBe("10");
    expect(
      resolveVersion("fraud", fraud, undefined, noHeader, {
        random: () => 0,
        eligible: (v) => v !== "1",
      }),
    ).toBe("2");
  });
  it("keeps a sequence (affinity key) on one version of the split; an explicit version wins", () => {
    const decision = decideVersion("fraud", fraud, undefined, noHeader, { affinityKey: "seq-7" });
    expect(decision).toMatchObject({ kind: "sticky", header: "sequence_id", key: "seq-7" });
    for (let i = 0; i < 20; i++) {
      expect(
        resolveVersion("fraud", fraud, undefined, noHeader, {
          affinityKey: "seq-7",
          random: Math.random,
        }),
      ).toBe(decision.version);
    }
    expect(resolveVersion("fraud", fraud, "1", noHeader, { affinityKey: "seq-7" })).toBe("1");
  });

  it("sticks requests carrying the sticky header (any case in the config)", () => {
    const sticky = { ...fraud, sticky: { header: "X-User-Id" } };
    const decision = decideVersion("fraud", sticky, undefined, headers({ "x-user-id": "alice" }));
    expect(decision).toMatchObject({ kind: "sticky", header: "x-user-id", key: "alice" });
    for (let i = 0; i < 20; i++) {
      expect(
        resolveVersion("fraud", sticky, undefined, headers({ "x-user-id": "alice" }), {
          random: Math.random,
        }),
      ).toBe(decision.version);
    }
    expect(decideVersion("fraud", sticky, undefined, noHeader, { random: () => 0 })).toEqual({
      kind: "random",
      version: "1",
      split: fraud.traffic,
      stickyHeader: "x-user-id",
    });
  });
  it("explains explicit, labelled, header and default decisions", () => {
    expect(decideVersion("fraud", fraud, "canary", noHeader)).toEqual({
      kind: "requested",
      version: "2",
      asked: "canary",
      label: "canary",
    });
    expect(
      decideVersion("fraud", fraud, undefined, headers({ "x-infergate-version": "2" })),
    ).toEqual({
      kind: "header",
      version: "2",
      asked: "2",
    });
    const { traffic: _t, ...plain } = fraud;
    expect(decideVersion("fraud", plain, undefined, noHeader)).toEqual({
      kind: "default",
      version: "1",
    });
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

describe("checkTraffic", () => {
  const fails = (raw: unknown): readonly string[] => {
    try {
      checkTraffic("fraud", fraud, raw);
    } catch (err) {
      expect(err).toBeInstanceOf(TrafficInvalidError);
      expect(err).toMatchObject({ code: "INVALID_REQUEST" });
      return (err as TrafficInvalidError).details ?? [];
    }
    throw new Error("expected the split to be rejected");
  };

  it("returns a valid split, reading integer versions as ids", () => {
    expect(
      checkTraffic("fraud", fraud, [
        { version: 1, weight: 80 },
        { version: "2", weight: 20 },
      ]),
    ).toEqual([
      { version: "1", weight: 80 },
      { version: "2", weight: 20 },
    ]);
  });

  it("rejects unknown versions, duplicates and all-zero weights with path lines", () => {
    expect(fails([{ version: "3", weight: 1 }])).toEqual([
      'traffic[0].version: unknown version "3"',
    ]);
    expect(
      fails([
        { version: "1", weight: 1 },
        { version: "1", weight: 2 },
      ]),
    ).toEqual(['traffic[1].version: version "1" already appears in traffic[0]']);
    expect(fails([{ version: "1", weight: 0 }])).toEqual([
      "traffic: all weights are 0; at least one must be positive",
    ]);
  });

  it("rejects negative, fractional and missing weights, and an empty split", () => {
    const lines = fails([
      { version: "1", weight: -1 },
      { version: "2", weight: 1.5 },
      { version: "10" },
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^traffic\[0\]\.weight: /);
    expect(lines[1]).toMatch(/^traffic\[1\]\.weight: /);
    expect(lines[2]).toMatch(/^traffic\[2\]\.weight: /);
    expect(fails([])).toEqual([expect.stringMatching(/^traffic: /)]);
  });

  it("parses a POST body and rejects unknown keys", () => {
    expect(parseTrafficBody({ traffic: [{ version: "1", weight: 5 }] })).toEqual([
      { version: "1", weight: 5 },
    ]);
    expect(() => parseTrafficBody({ traffic: [{ version: "1", weight: 5, colour: "x" }] })).toThrow(
      TrafficInvalidError,
    );
    expect(() => parseTrafficBody([1])).toThrow(TrafficInvalidError);
  });
});
