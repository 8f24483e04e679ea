/**
 * The `auth` and `rateLimits` config blocks (docs/access.md). Kept here so the config schema
 * only names them.
 */
import { z } from "zod";

const JWT_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "HS256",
  "HS384",
  "HS512",
] as const;

/** A token bucket: refills at `requestsPerSecond`, holds up to `burst` (default: the rate). */
export const rateLimitSchema = z.strictObject({
  requestsPerSecond: z.number().int().positive().max(1_000_000),
  burst: z.number().int().positive().max(10_000_000).optional(),
});

const keySchema = z.strictObject({
  /** The tenant: appears in logs, metrics and job ownership. */
  id: z.string().min(1).max(128),
  /** SHA-256 of the key, 64 hex digits. */
  hash: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "expected the sha256 of the key as 64 hex digits")
    .transform((h) => h.toLowerCase()),
  /** Model globs (`*` any run, `?` one character); absent = every model. */
  models: z.array(z.string().min(1)).max(1024).optional(),
  rateLimit: rateLimitSchema.optional(),
  admin: z.boolean().default(false),
});

const jwtSchema = z
  .strictObject({
    jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** A PEM public key (SPKI), or the shared secret when every algorithm is HS*. */
    publicKey: z.string().min(1).optional(),
    secret: z.string().min(32).optional(),
    issuer: z.string().min(1),
    audience: z.string().min(1),
    algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).default(["RS256"]),
    tenantClaim: z.string().min(1).default("sub"),
    modelsClaim: z.string().min(1).default("models"),
    /** A claim that makes the token an admin one when true; absent = JWTs are never admin. */
    adminClaim: z.string().min(1).optional(),
    clockToleranceSeconds: z.number().int().nonnegative().max(600).default(30),
    /** Least time between two JWKS fetches (a token with an unknown `kid` refetches). */
    jwksCooldownMs: z.number().int().min(100).max(3_600_000).default(10_000),
    rateLimit: rateLimitSchema.optional(),
  })
  .superRefine((jwt, ctx) => {
    const sources = [jwt.jwksUrl, jwt.publicKey, jwt.secret].filter((s) => s !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({ code: "custom", message: "set exactly one of jwksUrl, publicKey, secret" });
    }
    const hs = jwt.algorithms.filter((a) => a.startsWith("HS"));
    // An HS* token verified with a public key lets anyone who has the public key sign tokens.
    if (jwt.secret === undefined && hs.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["algorithms"],
        message: `${hs.join(", ")} needs a secret; with jwksUrl or publicKey use asymmetric algorithms`,
      });
    }
    if (jwt.secret !== undefined && hs.length !== jwt.algorithms.length) {
      ctx.addIssue({
        code: "custom",
        path: ["algorithms"],
        message: "with a secret only HS256, HS384 and HS512 apply",
      });
    }
  });

export const authSchema = z
  .strictObject({
    keys: z.array(keySchema).max(10_000).default([]),
    jwt: jwtSchema.optional(),
    /** Paths open without a key (exact, or a prefix ending in `*`). */
    public: z.array(z.string().startsWith("/")).max(256).default(["/healthz", "/readyz"]),
    /** Failed authentications per client address before 429. */
    failedAttempts: rateLimitSchema.default({ requestsPerSecond: 5, burst: 20 }),
  })
  .superRefine((auth, ctx) => {
    const seen = new Set<string>();
    for (const [i, key] of auth.keys.entries()) {
      if (seen.has(key.hash)) {
        ctx.addIssue({ code: "custom", path: ["keys", i, "hash"], message: "duplicate key hash" });
      }
      seen.add(key.hash);
    }
  });

export const rateLimitsSchema = z.strictObject({
  /** Per model, over every tenant. */
  models: z.record(z.string().min(1), rateLimitSchema).default({}),
});

export type AuthConfig = z.output<typeof authSchema>;
export type AuthKeyConfig = AuthConfig["keys"][number];
export type JwtConfig = z.output<typeof jwtSchema>;
export type RateLimitConfig = z.output<typeof rateLimitSchema>;
export type RateLimitsConfig = z.output<typeof rateLimitsSchema>;
