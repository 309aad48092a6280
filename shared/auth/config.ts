import { z } from "zod";

/**
 * `clientAuth` of a msg_server conf: how `SEND_CLIENT_ID <id> <token>` is checked.
 *
 *   "clientAuth": { "mode": "token", "keys": [{ "kid": "dev", "alg": "HS256", "secretFile": "./data/dev-token.key" }] }
 *
 * Relative file paths are resolved from the working directory, like `store.dataDir`.
 */

/** Signature algorithms accepted for client tokens. Each key is pinned to one, so a token cannot pick another (RS256 public key used as an HS256 secret). */
export const TokenAlg = { HS256: "HS256", RS256: "RS256", ES256: "ES256", EdDSA: "EdDSA" } as const;
export type TokenAlg = (typeof TokenAlg)[keyof typeof TokenAlg];

export const AuthMode = {
  /** Every login must carry a valid signed token whose `sub` is the client id. */
  token: "token",
  /** No check at all (FishChatServer v1 clients, which cannot send a token). Logged as a warning at start. */
  none: "none",
} as const;
export type AuthMode = (typeof AuthMode)[keyof typeof AuthMode];

/** RFC 7518 3.2: an HMAC key must be at least as long as the hash output (32 bytes for SHA-256). */
export const MIN_HS256_SECRET_BYTES = 32;

const path = z.string().min(1);

export const tokenKeySchema = z
  .strictObject({
    /** Key id: tokens name the key that signed them in their `kid` header; several keys may be valid at once (rotation). */
    kid: z.string().min(1).max(128),
    alg: z.enum([TokenAlg.HS256, TokenAlg.RS256, TokenAlg.ES256, TokenAlg.EdDSA]),
    /** HS256 only: the shared secret inline (its UTF-8 bytes, at least 32). Prefer secretFile: a conf file gets copied around. */
    secret: z.string().optional(),
    /** HS256 only: file holding the shared secret (its bytes, a trailing newline ignored, at least 32). */
    secretFile: path.optional(),
    /** RS256/ES256/EdDSA: PEM public key (SPKI, "BEGIN PUBLIC KEY") or certificate used to verify. */
    publicKeyFile: path.optional(),
    /** RS256/ES256/EdDSA: PEM private key (PKCS#8); only the `token` binary signs with it. Also yields the public key when publicKeyFile is absent. */
    privateKeyFile: path.optional(),
  })
  .superRefine((k, ctx) => {
    const symmetric = k.alg === TokenAlg.HS256;
    if (symmetric) {
      if ((k.secret === undefined) === (k.secretFile === undefined)) {
        ctx.addIssue({ code: "custom", message: `key "${k.kid}": HS256 needs exactly one of secret or secretFile` });
      }
      if (k.publicKeyFile !== undefined || k.privateKeyFile !== undefined) {
        ctx.addIssue({ code: "custom", message: `key "${k.kid}": HS256 takes secret or secretFile, not public/private key files` });
      }
      if (k.secret !== undefined && Buffer.byteLength(k.secret) < MIN_HS256_SECRET_BYTES) {
        ctx.addIssue({ code: "custom", message: `key "${k.kid}": an HS256 secret must have at least ${MIN_HS256_SECRET_BYTES} bytes` });
      }
    } else {
      if (k.secret !== undefined || k.secretFile !== undefined) {
        ctx.addIssue({ code: "custom", message: `key "${k.kid}": ${k.alg} takes publicKeyFile and/or privateKeyFile, not a secret` });
      }
      if (k.publicKeyFile === undefined && k.privateKeyFile === undefined) {
        ctx.addIssue({ code: "custom", message: `key "${k.kid}": ${k.alg} needs publicKeyFile (or privateKeyFile)` });
      }
    }
  });
export type TokenKeyConfig = z.output<typeof tokenKeySchema>;

export const clientAuthSchema = z
  .strictObject({
    /** "token" (default) or "none"; "none" must be written out and is logged as a warning at start. */
    mode: z.enum([AuthMode.token, AuthMode.none]).default(AuthMode.token),
    /** Keys from the config. Together with jwksFile, all are valid at once, chosen by the token's `kid`. */
    keys: z.array(tokenKeySchema).default([]),
    /**
     * A JWKS file (RFC 7517 `{"keys": [...]}`; RSA, EC P-256, OKP Ed25519 or oct keys, each with a `kid`),
     * re-read on SIGHUP so keys rotate without a restart. Keys with `"use": "enc"` are skipped.
     */
    jwksFile: path.optional(),
    /** When set, a token's `iss` must equal it. */
    issuer: z.string().min(1).optional(),
    /** When set, a token's `aud` must contain it (or one of them). */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** Allowance, in seconds, for clocks that disagree when checking `exp` and `nbf`. @default 30 */
    clockSkewSec: z.number().int().min(0).max(300).default(30),
    /** A TOKEN_EXPIRING notice goes out this many seconds before the session's token expires. @default 60 */
    expiringNoticeSec: z.number().int().min(0).default(60),
    /** Tokens longer than this (bytes) are refused before being parsed; ours are ~250 bytes (HS256) to ~600 (RS256). @default 4096 */
    maxTokenBytes: z.number().int().min(256).max(65_536).default(4096),
    /**
     * Tokens that verified recently, remembered by their SHA-256 so a reconnecting client (same
     * token) skips the signature check; exp, nbf and sub are still checked every time. Emptied when
     * keys are reloaded. 0 disables it. About 300 bytes per entry. @default 10000
     */
    verifiedCacheSize: z.number().int().min(0).max(1_000_000).default(10_000),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    for (const k of c.keys) {
      if (seen.has(k.kid)) ctx.addIssue({ code: "custom", path: ["keys"], message: `duplicate kid "${k.kid}"` });
      seen.add(k.kid);
    }
    if (c.mode === AuthMode.token && c.keys.length === 0 && c.jwksFile === undefined) {
      ctx.addIssue({ code: "custom", message: 'mode "token" needs keys or a jwksFile (or set mode "none" for FishChatServer v1 clients)' });
    }
  });
export type ClientAuthConfig = z.output<typeof clientAuthSchema>;
