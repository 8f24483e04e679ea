import { describe, expect, it } from "vitest";
import { formatWeights, pickVersion, type SplitEntry, stableUniform } from "./split.js";

/** mulberry32: a small seeded PRNG, so the counts below are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const split = (stable: number, canary: number): SplitEntry[] => [
  { version: "1", weight: stable },
  { version: "2", weight: canary },
];
const users = Array.from({ length: 1000 }, (_, i) => `user-${i}`);

describe("pickVersion without a sticky key", () => {
  it("gives the canary 10% ± 1.5% of 10,000 picks on 90/10", () => {
    const random = seeded(42);
    let canary = 0;
    for (let i = 0; i < 10_000; i++) if (pickVersion(split(90, 10), { random }) === "2") canary++;
    expect(canary).toBeGreaterThanOrEqual(850);
    expect(canary).toBeLessThanOrEqual(1150);
  });

  it("maps the random number onto the weights in order", () => {
    expect(pickVersion(split(90, 10), { random: () => 0 })).toBe("1");
    expect(pickVersion(split(90, 10), { random: () => 0.899 })).toBe("1");
    expect(pickVersion(split(90, 10), { random: () => 0.9 })).toBe("2");
    expect(pickVersion(split(90, 10), { random: () => 0.999999 })).toBe("2");
  });
});

describe("pickVersion with a sticky key (weighted rendezvous hashing)", () => {
  it("keeps each of 1000 users on one version over 10 picks", () => {
    for (const user of users) {
      const first = pickVersion(split(90, 10), { stickyKey: user });
      for (let i = 0; i < 9; i++)
        expect(pickVersion(split(90, 10), { stickyKey: user })).toBe(first);
    }
  });

  it("spreads users by weight and ignores the order of the entries", () => {
    const reversed = [...split(90, 10)].reverse();
    let canary = 0;
    for (const user of users) {
      const v = pickVersion(split(90, 10), { stickyKey: user });
      expect(pickVersion(reversed, { stickyKey: user })).toBe(v);
      if (v === "2") canary++;
    }
    expect(canary).toBeGreaterThan(70);
    expect(canary).toBeLessThan(130);
  });

  it("moves about 10% of users from 90/10 to 80/20, all of them to the canary", () => {
    const moves: Array<[string, string]> = [];
    for (const user of users) {
      const before = pickVersion(split(90, 10), { stickyKey: user });
      const after = pickVersion(split(80, 20), { stickyKey: user });
      if (before !== after) moves.push([before, after]);
    }
    expect(moves.length).toBeGreaterThanOrEqual(80);
    expect(moves.length).toBeLessThanOrEqual(120);
    expect(moves.every(([from, to]) => from === "1" && to === "2")).toBe(true);
  });

  it("moves nobody between versions whose weight did not change", () => {
    const three = (a: number): SplitEntry[] => [
      { version: "1", weight: a },
      { version: "2", weight: 25 },
      { version: "3", weight: 25 },
    ];
    for (const user of users) {
      const before = pickVersion(three(50), { stickyKey: user });
      const after = pickVersion(three(40), { stickyKey: user });
      if (before !== after) expect(before).toBe("1");
    }
  });

  it("hashes to a stable value in (0, 1), the same in every process", () => {
    const u = stableUniform("alice", "1");
    expect(u).toBeGreaterThan(0);
    expect(u).toBeLessThan(1);
    expect(stableUniform("alice", "1")).toBe(u);
    expect(stableUniform("alice", "2")).not.toBe(u);
    // Pinned: a different hash would move every sticky user on upgrade.
    expect(u.toFixed(12)).toBe("0.970993997427");
  });
});

describe("pickVersion eligibility and zero weights", () => {
  it("gives nothing to a version of weight 0", () => {
    const random = seeded(7);
    for (let i = 0; i < 500; i++) {
      expect(pickVersion(split(0, 1), { random })).toBe("2");
      expect(pickVersion(split(0, 1), { stickyKey: `u${i}` })).toBe("2");
    }
  });

  it("gives nothing to an ineligible version; its share goes to the others", () => {
    const random = seeded(9);
    const eligible = (v: string) => v !== "1";
    for (let i = 0; i < 500; i++) {
      expect(pickVersion(split(90, 10), { random, eligible })).toBe("2");
      expect(pickVersion(split(90, 10), { stickyKey: `u${i}`, eligible })).toBe("2");
    }
  });

  it("keeps sticky users of eligible versions where they were", () => {
    const three: SplitEntry[] = [
      { version: "1", weight: 50 },
      { version: "2", weight: 25 },
      { version: "3", weight: 25 },
    ];
    const eligible = (v: string) => v !== "3";
    for (const user of users) {
      const before = pickVersion(three, { stickyKey: user });
      const after = pickVersion(three, { stickyKey: user, eligible });
      if (before !== "3") expect(after).toBe(before);
      else expect(after).not.toBe("3");
    }
  });

  it("ignores eligibility when no version with weight is eligible", () => {
    expect(pickVersion(split(90, 0), { random: () => 0.5, eligible: () => false })).toBe("1");
    expect(pickVersion(split(0, 5), { stickyKey: "bob", eligible: (v) => v === "1" })).toBe("2");
  });

  it("throws when no version has weight", () => {
    expect(() => pickVersion(split(0, 0))).toThrow("positive weight");
    expect(() => pickVersion([])).toThrow("positive weight");
  });
});

describe("formatWeights", () => {
  it("writes weights as people do", () => {
    expect(formatWeights(split(90, 10))).toBe("90/10");
  });
});
