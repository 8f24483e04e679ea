import { describe, expect, it } from "vitest";
import { authSchema } from "./schema.js";

const jwt = { issuer: "https://issuer/", audience: "infergate" };

describe("authSchema", () => {
  it("refuses HS* algorithms with a JWKS or a public key, and a secret with asymmetric ones", () => {
    const hsWithJwks = authSchema.safeParse({
      jwt: { ...jwt, jwksUrl: "https://issuer/jwks.json", algorithms: ["RS256", "HS256"] },
    });
    expect(hsWithJwks.success).toBe(false);
    expect(JSON.stringify(hsWithJwks.error?.issues)).toContain("HS256 needs a secret");
    const rsWithSecret = authSchema.safeParse({
      jwt: { ...jwt, secret: "s".repeat(32), algorithms: ["RS256"] },
    });
    expect(rsWithSecret.success).toBe(false);
    const hsWithSecret = authSchema.safeParse({
      jwt: { ...jwt, secret: "s".repeat(32), algorithms: ["HS256"] },
    });
    expect(hsWithSecret.success).toBe(true);
  });

  it("never accepts the none algorithm", () => {
    const none = authSchema.safeParse({
      jwt: { ...jwt, jwksUrl: "https://issuer/jwks.json", algorithms: ["none"] },
    });
    expect(none.success).toBe(false);
  });

  it("needs exactly one key source", () => {
    expect(authSchema.safeParse({ jwt }).success).toBe(false);
    const two = authSchema.safeParse({
      jwt: { ...jwt, jwksUrl: "https://issuer/jwks.json", publicKey: "pem" },
    });
    expect(two.success).toBe(false);
  });

  it("defaults public to the health paths and lower-cases key hashes", () => {
    const parsed = authSchema.parse({ keys: [{ id: "a", hash: "AB".repeat(32) }] });
    expect(parsed.public).toEqual(["/healthz", "/readyz"]);
    expect(parsed.keys[0]?.hash).toBe("ab".repeat(32));
    expect(parsed.keys[0]?.admin).toBe(false);
  });

  it("refuses a hash that is not 64 hex digits and duplicate hashes", () => {
    expect(authSchema.safeParse({ keys: [{ id: "a", hash: "secret" }] }).success).toBe(false);
    const dup = authSchema.safeParse({
      keys: [
        { id: "a", hash: "ab".repeat(32) },
        { id: "b", hash: "AB".repeat(32) },
      ],
    });
    expect(dup.success).toBe(false);
  });
});
