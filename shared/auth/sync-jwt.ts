/**
 * A synchronous check of the common client token (issue 13, login cost): a compact JWS whose
 * protected header has only `alg`, `kid` and `typ`. jose (v6) verifies through WebCrypto, and a
 * WebCrypto verify is a job on libuv's thread pool with promises around it: in a login profile
 * that dispatch cost more msg_server CPU than the HMAC itself. node:crypto verifies the same
 * signature synchronously in microseconds.
 *
 * The rules are jose's, rule for rule, for the options TokenVerifier passes (algorithms pinned by
 * the key, issuer, audience, clockTolerance, requiredClaims exp + sub, currentDate), and failures
 * throw jose's own error classes so TokenVerifier maps them to the same reasons. Anything outside
 * the simple shape (other header parameters such as `crit` or `b64`, a part that is not strict
 * base64url, a length no base64 can have) returns NOT_HANDLED and goes to jose unchanged, so the
 * unusual cases keep jose's full handling. test/property/sync-jwt.property.test.ts checks that
 * both give the same answer on valid, tampered and malformed tokens.
 */
import { createHmac, KeyObject, timingSafeEqual, verify as cryptoVerify, type webcrypto } from "node:crypto";
import { errors as joseErrors, type JWTPayload, type ProtectedHeaderParameters } from "jose";
import type { TokenAlg } from "./config.js";

export const NOT_HANDLED = Symbol("not handled");

export interface SyncJwtOptions {
  issuer?: string;
  audience?: string | string[];
  clockTolerance: number;
}

export interface SyncKey {
  alg: TokenAlg;
  key: KeyObject;
}

/** The algorithms TokenVerifier allows (each key is further pinned to one of them). */
export const ALGORITHMS: readonly string[] = ["HS256", "RS256", "ES256", "EdDSA"] satisfies TokenAlg[];
const B64URL = /^[A-Za-z0-9_-]*$/;
const SIMPLE_HEADER = new Set(["alg", "kid", "typ"]);
const strict = new TextDecoder("utf-8", { fatal: true });

/** A node:crypto KeyObject for a WebCrypto key (once per key, when the key set is loaded). */
export function syncKeyOf(alg: TokenAlg, key: webcrypto.CryptoKey): SyncKey {
  return { alg, key: KeyObject.from(key) };
}

function decodePart(part: string): Uint8Array | null {
  // jose decodes with atob, which refuses these; Buffer would accept them silently.
  if (!B64URL.test(part) || part.length % 4 === 1) return null;
  return Buffer.from(part, "base64url");
}

function jsonObject(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const v = JSON.parse(strict.decode(bytes)) as unknown;
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function signatureOk(k: SyncKey, input: Buffer, sig: Buffer): boolean {
  try {
    switch (k.alg) {
      case "HS256": {
        const mac = createHmac("sha256", k.key).update(input).digest();
        return mac.length === sig.length && timingSafeEqual(mac, sig);
      }
      case "ES256":
        return cryptoVerify("sha256", input, { key: k.key, dsaEncoding: "ieee-p1363" }, sig);
      case "RS256":
        return cryptoVerify("sha256", input, k.key, sig);
      case "EdDSA":
        return cryptoVerify(null, input, k.key, sig);
    }
  } catch {
    return false;
  }
}

/**
 * Verify `token` synchronously, or return NOT_HANDLED for jose. `pickKey` is TokenVerifier's (kid
 * and algorithm rules; it throws its own rejections). Throws jose errors for what jose would
 * refuse.
 */
export function verifySimpleJwt(
  token: string,
  pickKey: (h: ProtectedHeaderParameters) => SyncKey,
  opts: SyncJwtOptions,
  nowMs: number,
): { payload: JWTPayload; protectedHeader: ProtectedHeaderParameters } | typeof NOT_HANDLED {
  const parts = token.split(".");
  if (parts.length !== 3) return NOT_HANDLED;
  const [h, p, s] = parts as [string, string, string];
  const hb = decodePart(h);
  const pb = decodePart(p);
  const sb = decodePart(s);
  if (!hb || !pb || !sb) return NOT_HANDLED;
  const header = jsonObject(hb);
  if (!header || Object.keys(header).some((k) => !SIMPLE_HEADER.has(k))) return NOT_HANDLED;
  if (typeof header.alg !== "string" || header.alg === "") return NOT_HANDLED;
  // jose refuses an algorithm outside the allowed list before it asks for a key.
  if (!ALGORITHMS.includes(header.alg)) throw new joseErrors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  const key = pickKey(header as ProtectedHeaderParameters);
  if (!signatureOk(key, Buffer.from(`${h}.${p}`, "latin1"), sb as Buffer)) throw new joseErrors.JWSSignatureVerificationFailed();
  const claims = jsonObject(pb);
  if (!claims) throw new joseErrors.JWTInvalid("JWT Claims Set must be a top-level JSON object");
  checkClaims(claims, opts, nowMs);
  return { payload: claims as JWTPayload, protectedHeader: header as ProtectedHeaderParameters };
}

const failed = (c: Record<string, unknown>, claim: string, reason: string, msg: string) => new joseErrors.JWTClaimValidationFailed(msg, c, claim, reason);

/** jose's validateClaimsSet for the options above, in its order. */
function checkClaims(c: Record<string, unknown>, opts: SyncJwtOptions, nowMs: number): void {
  const presence = ["exp", "sub"];
  if (opts.audience !== undefined) presence.push("aud");
  if (opts.issuer !== undefined) presence.push("iss");
  for (const claim of new Set(presence.reverse())) if (!Object.hasOwn(c, claim)) throw failed(c, claim, "missing", `missing required "${claim}" claim`);
  if (opts.issuer !== undefined && c.iss !== opts.issuer) throw failed(c, "iss", "check_failed", 'unexpected "iss" claim value');
  if (opts.audience !== undefined) {
    const want = typeof opts.audience === "string" ? [opts.audience] : opts.audience;
    const aud = c.aud;
    const ok = typeof aud === "string" ? want.includes(aud) : Array.isArray(aud) ? want.some((a) => aud.includes(a)) : false;
    if (!ok) throw failed(c, "aud", "check_failed", 'unexpected "aud" claim value');
  }
  const now = Math.floor(nowMs / 1000);
  const tol = opts.clockTolerance;
  const numeric = (claim: string): number | undefined => {
    const v = c[claim];
    if (v === undefined) return undefined;
    if (typeof v !== "number") throw failed(c, claim, "invalid", `"${claim}" claim must be a number`);
    return v;
  };
  numeric("iat");
  const nbf = numeric("nbf");
  if (nbf !== undefined && nbf > now + tol) throw failed(c, "nbf", "check_failed", '"nbf" claim timestamp check failed');
  const exp = numeric("exp");
  if (exp !== undefined && exp <= now - tol) throw new joseErrors.JWTExpired('"exp" claim timestamp check failed', c, "exp", "check_failed");
}
