import { describe, expect, it } from "vitest";
import { matchesAny } from "./globs.js";
import { hashKey, KeyStore } from "./keys.js";

describe("KeyStore", () => {
  const store = new KeyStore([
    { id: "a", hash: hashKey("alpha-key"), admin: false },
    { id: "b", hash: hashKey("beta-key"), admin: true, models: ["x"] },
  ]);

  it("finds a key by its hash and nothing for another string", () => {
    expect(store.find("alpha-key")?.id).toBe("a");
    expect(store.find("beta-key")?.admin).toBe(true);
    expect(store.find("alpha-key ")).toBeUndefined();
    expect(store.find(hashKey("alpha-key"))).toBeUndefined();
  });

  it("hashes as sha256 hex", () => {
    expect(hashKey("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("matchesAny", () => {
  it("treats * as any run and ? as one character, everything else literally", () => {
    expect(matchesAny(["iris*"], "iris")).toBe(true);
    expect(matchesAny(["iris*"], "iris-v2")).toBe(true);
    expect(matchesAny(["iris*"], "xiris")).toBe(false);
    expect(matchesAny(["fraud", "m?"], "m1")).toBe(true);
    expect(matchesAny(["fraud", "m?"], "m12")).toBe(false);
    expect(matchesAny(["a.b"], "axb")).toBe(false);
    expect(matchesAny([], "iris")).toBe(false);
    expect(matchesAny(undefined, "anything")).toBe(true);
  });
});
