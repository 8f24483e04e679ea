/**
 * JWT bearer tokens, verified with `jose`: the algorithms are pinned by the config (`none` is
 * never accepted: jose's jwtVerify refuses unsecured tokens), issuer, audience and expiry are
 * required, with a bounded clock skew. A JWKS is fetched on first use and cached; a token with a
 * `kid` the cached set lacks refetches it, at most once per cooldown, so a key rotation is picked
 * up without letting junk `kid`s hammer the issuer.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  importSPKI,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import type { Principal } from "./principal.js";
import type { JwtConfig } from "./schema.js";

/** Why a token was refused (logged at debug; the client only sees UNAUTHENTICATED). */
export class TokenRejectedError extends Error {
  override name = "TokenRejectedError";
}

/** How long a fetched set is trusted, and how long one fetch may take. */
const JWKS_MAX_AGE_MS = 10 * 60_000;
const JWKS_TIMEOUT_MS = 5_000;

type KeySource = JWTVerifyGetKey | Awaited<ReturnType<typeof importSPKI>> | Uint8Array;

/** Verifies tokens for one `auth.jwt` block. */
export class JwtVerifier {
  readonly #config: JwtConfig;
  #key: Promise<KeySource> | undefined;

  constructor(config: JwtConfig) {
    this.#config = config;
  }

  /** The caller a token names, or TokenRejectedError. */
  async verify(token: string): Promise<Principal> {
    const config = this.#config;
    let payload: JWTPayload;
    try {
      const key = await this.#source();
      const options = {
        algorithms: [...config.algorithms],
        issuer: config.issuer,
        audience: config.audience,
        clockTolerance: config.clockToleranceSeconds,
        requiredClaims: ["exp"],
      };
      // jose's overloads differ by key type; each branch passes the same options.
      payload =
        typeof key === "function"
          ? (await jwtVerify(token, key, options)).payload
          : (await jwtVerify(token, key, options)).payload;
    } catch (err) {
      if (err instanceof errors.JOSEError || err instanceof TypeError) {
        throw new TokenRejectedError(err.message);
      }
      throw err;
    }
    const tenant = payload[config.tenantClaim];
    if (typeof tenant !== "string" || tenant === "") {
      throw new TokenRejectedError(`claim "${config.tenantClaim}" is not a non-empty string`);
    }
    const models = payload[config.modelsClaim];
    if (models !== undefined && !isStringArray(models)) {
      throw new TokenRejectedError(`claim "${config.modelsClaim}" is not a list of strings`);
    }
    const admin = config.adminClaim !== undefined && payload[config.adminClaim] === true;
    return { tenant, admin, models, via: "jwt" };
  }

  #source(): Promise<KeySource> {
    this.#key ??= this.#load().catch((err: unknown) => {
      this.#key = undefined;
      throw err;
    });
    return this.#key;
  }

  async #load(): Promise<KeySource> {
    const config = this.#config;
    if (config.jwksUrl !== undefined) {
      return createRemoteJWKSet(new URL(config.jwksUrl), {
        cooldownDuration: config.jwksCooldownMs,
        cacheMaxAge: JWKS_MAX_AGE_MS,
        timeoutDuration: JWKS_TIMEOUT_MS,
      });
    }
    if (config.secret !== undefined) return new TextEncoder().encode(config.secret);
    const pem = config.publicKey ?? "";
    if (pem.trimStart().startsWith("{")) {
      return createLocalJWKSet({ keys: [JSON.parse(pem) as never] });
    }
    // One algorithm family per PEM: the first configured algorithm decides how it is imported.
    return importSPKI(pem, config.algorithms[0] ?? "RS256");
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= 1024 && value.every((v) => typeof v === "string");
}
