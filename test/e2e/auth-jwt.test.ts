/**
 * JWT bearer tokens end to end (docs/access.md "JWT"): a JWKS served by a local HTTP server, tokens
 * signed in the test. Valid tokens pass; expired, wrong-audience, unsigned (`alg: none`) and
 * HS256-signed-with-the-public-key tokens are 401; after a key rotation a new `kid` refetches
 * the JWKS (at most once per cooldown) and an unknown `kid` stays 401.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { status } from "@grpc/grpc-js";
import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeOf, irisAndOps } from "./auth-support.js";
import { postJson, startTestGateway, type TestGateway } from "./harness.js";
import { kserveClient } from "./kserve-client.js";

const ISSUER = "https://issuer.test/";
const AUDIENCE = "infergate";
const COOLDOWN_MS = 1000;

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let gw: TestGateway;
let jwks: Server;
let published: JWK[] = [];
let fetches = 0;
let first: KeyPair;
let second: KeyPair;
let stranger: KeyPair;

beforeAll(async () => {
  first = await generateKeyPair("RS256", { extractable: true });
  second = await generateKeyPair("RS256", { extractable: true });
  stranger = await generateKeyPair("RS256");
  published = [{ ...(await exportJWK(first.publicKey)), kid: "k1", alg: "RS256", use: "sig" }];
  jwks = createServer((_req, res) => {
    fetches += 1;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
  const port = (jwks.address() as AddressInfo).port;
  gw = await startTestGateway(`server: { host: 127.0.0.1, port: 0, grpcPort: 0 }
${irisAndOps(`auth:
  jwt:
    jwksUrl: http://127.0.0.1:${port}/jwks.json
    issuer: ${ISSUER}
    audience: ${AUDIENCE}
    algorithms: [RS256]
    jwksCooldownMs: ${COOLDOWN_MS}
`)}`);
});
afterAll(async () => {
  await gw?.stop();
  await new Promise((resolve) => jwks?.close(resolve));
});

const sign = (
  key: KeyPair,
  kid: string,
  claims: { aud?: string; exp?: string | number; models?: string[] } = {},
) =>
  new SignJWT({ models: claims.models ?? ["iris"] })
    .setProtectedHeader({ alg: "RS256", kid })
    .setIssuer(ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setSubject("tenant-jwt")
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? "5m")
    .sign(key.privateKey);

const predict = (token: string, model = "iris") =>
  postJson(
    `${gw.url}/v1/models/${model}/predict`,
    { inputs: [[5, 3.5, 1.4, 0.2]] },
    { authorization: `Bearer ${token}` },
  );

describe("JWT", () => {
  it("accepts a valid token and applies its models claim", async () => {
    const token = await sign(first, "k1");
    expect((await predict(token)).status).toBe(200);
    const forbidden = await predict(token, "ops");
    expect(forbidden.status).toBe(403);
    expect(codeOf(forbidden.body)).toBe("PERMISSION_DENIED");
  });

  it("refuses expired and wrong-audience tokens with 401", async () => {
    const expired = await sign(first, "k1", { exp: Math.floor(Date.now() / 1000) - 120 });
    const res = await predict(expired);
    expect(res.status).toBe(401);
    expect(codeOf(res.body)).toBe("UNAUTHENTICATED");
    expect((await predict(await sign(first, "k1", { aud: "someone-else" }))).status).toBe(401);
  });

  it("refuses an unsigned token and an HS256 token keyed with the public key", async () => {
    const unsigned = new UnsecuredJWT({ models: ["iris"] })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject("tenant-jwt")
      .setExpirationTime("5m")
      .encode();
    expect((await predict(unsigned)).status).toBe(401);
    const pem = new TextEncoder().encode(await exportSPKI(first.publicKey));
    const confused = await new SignJWT({ models: ["iris"] })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject("tenant-jwt")
      .setExpirationTime("5m")
      .sign(pem);
    expect((await predict(confused)).status).toBe(401);
  });

  it("picks up a rotated key by its new kid, refetching at most once per cooldown", async () => {
    // Wait out the cooldown of the first fetch, then rotate: k2 replaces k1.
    const unknown = await sign(stranger, "k-unknown");
    await new Promise((r) => setTimeout(r, COOLDOWN_MS + 50));
    published = [{ ...(await exportJWK(second.publicKey)), kid: "k2", alg: "RS256", use: "sig" }];
    const before = fetches;
    expect((await predict(await sign(second, "k2"))).status).toBe(200);
    expect(fetches).toBe(before + 1);
    // A burst of unknown kids inside the cooldown costs no further fetch.
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => predict(unknown)));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    expect(fetches).toBe(before + 1);
  });

  it("checks tokens on gRPC too", async () => {
    const client = kserveClient(gw.grpcAddress);
    try {
      const token = await sign(second, "k2");
      const ok = await client.call(
        "ModelMetadata",
        { name: "iris" },
        { authorization: `Bearer ${token}` },
      );
      expect(ok.name).toBe("iris");
      const expired = await sign(second, "k2", { exp: Math.floor(Date.now() / 1000) - 120 });
      await expect(
        client.call("ModelMetadata", { name: "iris" }, { authorization: `Bearer ${expired}` }),
      ).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    } finally {
      client.close();
    }
  });
});
