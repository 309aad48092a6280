import { errors as joseErrors, type JWTPayload, jwtVerify, type ProtectedHeaderParameters } from "jose";
import { AuthError, ErrorCode } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { canonicalText, isWellFormed } from "../validate.js";
import type { ClientAuthConfig } from "./config.js";
import { type CryptoKey, type KeySet, type LoadedKey, loadKeySet } from "./keys.js";
import { type CachedClaims, VerifiedCache } from "./verified-cache.js";
import { ALGORITHMS, NOT_HANDLED, type SyncKey, syncKeyOf, verifySimpleJwt } from "./sync-jwt.js";

/** What a valid token tells about the session. Times are Unix seconds, as in the JWT. */
export interface VerifiedToken {
  /** The client id, in canonical form (equal to the id that was checked). */
  sub: string;
  exp: number;
  iat?: number;
  jti?: string;
  /** The key that signed it, for logs. */
  kid: string;
}

/** Why a token was refused. Only for the log: the client always gets IM_ERR_AUTH_FAILED. */
export const AuthFailure = {
  malformed: "malformed",
  too_long: "too_long",
  unknown_kid: "unknown_kid",
  kid_required: "kid_required",
  alg_not_allowed: "alg_not_allowed",
  bad_signature: "bad_signature",
  expired: "expired",
  not_yet_valid: "not_yet_valid",
  missing_claim: "missing_claim",
  sub_mismatch: "sub_mismatch",
  bad_issuer: "bad_issuer",
  bad_audience: "bad_audience",
  bad_claim: "bad_claim",
} as const;
export type AuthFailure = (typeof AuthFailure)[keyof typeof AuthFailure];

/**
 * A refused token. The message is the same for every reason so a client learns nothing from it;
 * `reason` and `detail` are for the log (they never contain the token).
 */
export class TokenRejected extends AuthError {
  readonly reason: AuthFailure;
  readonly detail: string;
  constructor(reason: AuthFailure, detail: string, options?: ErrorOptions) {
    super(ErrorCode.IM_ERR_AUTH_FAILED, "authentication failed", options);
    this.reason = reason;
    this.detail = detail;
  }
}

export interface ReloadResult {
  ok: boolean;
  /** kids loaded after the reload (the old ones when it failed). */
  kids: string[];
  error?: Error;
}

function fromJoseError(err: unknown): TokenRejected {
  if (err instanceof TokenRejected) return err;
  const e = err as Error & { claim?: string; reason?: string };
  if (err instanceof joseErrors.JWTExpired) return new TokenRejected(AuthFailure.expired, e.message, { cause: err });
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.reason === "missing") return new TokenRejected(AuthFailure.missing_claim, e.message, { cause: err });
    const byClaim: Record<string, AuthFailure> = { nbf: AuthFailure.not_yet_valid, iss: AuthFailure.bad_issuer, aud: AuthFailure.bad_audience };
    return new TokenRejected(byClaim[e.claim ?? ""] ?? AuthFailure.bad_claim, e.message, { cause: err });
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new TokenRejected(AuthFailure.bad_signature, e.message, { cause: err });
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new TokenRejected(AuthFailure.alg_not_allowed, e.message, { cause: err });
  // JWSInvalid, JWTInvalid, JOSENotSupported, TypeErrors from bad claim types: all a malformed token.
  return new TokenRejected(AuthFailure.malformed, e?.message ?? String(err), { cause: err });
}

/**
 * Checks client tokens in memory: no Redis or store round trip. Keys come from the config and the
 * JWKS file; several are valid at once and the token's `kid` header picks one (rotation: add the
 * new key, mint with it, remove the old one once its tokens have expired). Each key is pinned to
 * its algorithm, so `alg: none` or an HS256 token "signed" with an RSA public key never verify.
 */
export class TokenVerifier {
  private keySet: KeySet;
  private readonly algorithms: string[];
  private readonly cache: VerifiedCache;
  /** Bumped by every successful reload, so a verification that straddles one is not cached. */
  private generation = 0;
  /** node:crypto twins of the loaded keys, for the synchronous path (sync-jwt.ts); made on first use. */
  private readonly syncKeys = new WeakMap<LoadedKey, SyncKey>();

  private constructor(
    private readonly cfg: ClientAuthConfig,
    keySet: KeySet,
    private readonly log: Logger | undefined,
    /** Every token through jose (tests compare the synchronous path against it). */
    private readonly joseOnly: boolean,
  ) {
    this.keySet = keySet;
    this.algorithms = [...ALGORITHMS];
    this.cache = new VerifiedCache(cfg.verifiedCacheSize);
  }

  /** Loads every key; throws ConfigError (naming the key and file) when one cannot be used. */
  static async create(cfg: ClientAuthConfig, log?: Logger, opts: { joseOnly?: boolean } = {}): Promise<TokenVerifier> {
    const keySet = await loadKeySet(cfg);
    for (const w of keySet.warnings) log?.warn(w);
    return new TokenVerifier(cfg, keySet, log, opts.joseOnly ?? false);
  }

  get kids(): string[] {
    return [...this.keySet.keys.keys()];
  }

  /**
   * Re-reads the key files and the JWKS file (SIGHUP). All or nothing: when anything is wrong the
   * keys in use stay, and the reason is logged and returned.
   */
  async reload(): Promise<ReloadResult> {
    try {
      const next = await loadKeySet(this.cfg);
      for (const w of next.warnings) this.log?.warn(w);
      const before = this.kids;
      this.keySet = next;
      // A removed or replaced key must stop admitting the tokens it signed, cached or not.
      this.generation++;
      this.cache.clear();
      const kids = this.kids;
      this.log?.info({ kids, added: kids.filter((k) => !before.includes(k)), removed: before.filter((k) => !kids.includes(k)) }, "client token keys reloaded");
      return { ok: true, kids };
    } catch (err) {
      this.log?.error({ err }, "client token keys not reloaded; the previous keys stay in use");
      return { ok: false, kids: this.kids, error: err as Error };
    }
  }

  private pickKey(header: ProtectedHeaderParameters): CryptoKey {
    return this.pickLoaded(header).verifyKey;
  }

  private pickSyncKey(header: ProtectedHeaderParameters): SyncKey {
    const k = this.pickLoaded(header);
    let s = this.syncKeys.get(k);
    if (!s) {
      s = syncKeyOf(k.alg, k.verifyKey);
      this.syncKeys.set(k, s);
    }
    return s;
  }

  private pickLoaded(header: ProtectedHeaderParameters): LoadedKey {
    const keys = this.keySet.keys;
    let key: LoadedKey | undefined;
    if (header.kid === undefined) {
      // Without a kid the choice is only unambiguous when one key exists; rotation needs kids.
      if (keys.size !== 1) throw new TokenRejected(AuthFailure.kid_required, `token has no kid and ${keys.size} keys are loaded`);
      key = keys.values().next().value;
    } else {
      key = keys.get(header.kid);
      if (!key) throw new TokenRejected(AuthFailure.unknown_kid, `no key with kid ${JSON.stringify(header.kid).slice(0, 140)}`);
    }
    if (header.alg !== key!.alg) throw new TokenRejected(AuthFailure.alg_not_allowed, `key ${key!.kid} is ${key!.alg}, token says ${String(header.alg)}`);
    return key!;
  }

  /**
   * Verifies that `token` is a valid, unexpired token for client `id`. Returns its claims or throws
   * TokenRejected (an AuthError with code IM_ERR_AUTH_FAILED; the reason is on `.reason`/`.detail`).
   * `now` (Unix ms) is for tests of the time rules.
   */
  async verify(id: string, token: string, now = Date.now()): Promise<VerifiedToken> {
    if (token.length > this.cfg.maxTokenBytes) throw new TokenRejected(AuthFailure.too_long, `token of ${token.length} characters, max ${this.cfg.maxTokenBytes}`);
    const cacheKey = VerifiedCache.keyOf(token);
    let claims = this.cache.get(cacheKey);
    if (claims) {
      this.checkTimes(claims, now, cacheKey);
    } else {
      const generation = this.generation;
      claims = await this.verifyWithJose(token, now);
      if (generation === this.generation) this.cache.set(cacheKey, claims);
    }
    if (!isWellFormed(id) || claims.sub !== canonicalText(id)) {
      throw new TokenRejected(AuthFailure.sub_mismatch, `token is for ${JSON.stringify(claims.sub).slice(0, 140)}, login is for ${JSON.stringify(id).slice(0, 140)}`);
    }
    const out: VerifiedToken = { sub: claims.sub, exp: claims.exp, kid: claims.kid };
    if (claims.iat !== undefined) out.iat = claims.iat;
    if (claims.jti !== undefined) out.jti = claims.jti;
    return out;
  }

  /** The same time rules as jose's, for cache hits: expired once now >= exp + skew, early while nbf > now + skew. */
  private checkTimes(c: CachedClaims, nowMs: number, cacheKey: string): void {
    const now = Math.floor(nowMs / 1000);
    const skew = this.cfg.clockSkewSec;
    if (c.exp <= now - skew) {
      this.cache.delete(cacheKey);
      throw new TokenRejected(AuthFailure.expired, `"exp" claim timestamp check failed (cached token, exp ${c.exp}, now ${now})`);
    }
    if (c.nbf !== undefined && c.nbf > now + skew) throw new TokenRejected(AuthFailure.not_yet_valid, `"nbf" claim timestamp check failed (cached token, nbf ${c.nbf}, now ${now})`);
  }

  private async verifyWithJose(token: string, now: number): Promise<CachedClaims> {
    let payload: JWTPayload;
    let kid: string | undefined;
    try {
      // The usual token synchronously (sync-jwt.ts); anything unusual through jose.
      const simple = this.joseOnly ? NOT_HANDLED : verifySimpleJwt(token, (h) => this.pickSyncKey(h), { issuer: this.cfg.issuer, audience: this.cfg.audience, clockTolerance: this.cfg.clockSkewSec }, now);
      const r =
        simple !== NOT_HANDLED
          ? simple
          : await jwtVerify(token, (h) => this.pickKey(h), {
              algorithms: this.algorithms,
              issuer: this.cfg.issuer,
              audience: this.cfg.audience,
              clockTolerance: this.cfg.clockSkewSec,
              requiredClaims: ["exp", "sub"],
              currentDate: new Date(now),
            });
      payload = r.payload;
      kid = r.protectedHeader.kid;
    } catch (err) {
      throw fromJoseError(err);
    }
    const { sub, exp, nbf, iat, jti } = payload;
    if (typeof sub !== "string" || !isWellFormed(sub)) throw new TokenRejected(AuthFailure.bad_claim, "sub is not a well-formed string");
    if (typeof exp !== "number") throw new TokenRejected(AuthFailure.bad_claim, "exp is not a number");
    const claims: CachedClaims = { sub: canonicalText(sub), exp, kid: kid ?? this.kids[0] ?? "" };
    if (typeof nbf === "number") claims.nbf = nbf;
    if (typeof iat === "number") claims.iat = iat;
    if (typeof jti === "string") claims.jti = jti;
    return claims;
  }
}

/**
 * When a session logged in with `token` should get its TOKEN_EXPIRING notice and when it must be
 * closed with IM_ERR_TOKEN_EXPIRED, in ms from `nowMs` (0: at once). The close waits out the same
 * clock skew a login is allowed, so a token accepted near its exp is not cut off the moment after.
 */
export function sessionDeadlines(
  token: Pick<VerifiedToken, "exp">,
  cfg: Pick<ClientAuthConfig, "clockSkewSec" | "expiringNoticeSec">,
  nowMs = Date.now(),
): { noticeInMs: number; expireInMs: number } {
  const expireAt = (token.exp + cfg.clockSkewSec) * 1000;
  const noticeAt = (token.exp - cfg.expiringNoticeSec) * 1000;
  return { noticeInMs: Math.max(0, noticeAt - nowMs), expireInMs: Math.max(0, expireAt - nowMs) };
}
