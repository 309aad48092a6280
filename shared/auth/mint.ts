import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { ConfigError } from "../errors.js";
import { canonicalText, isWellFormed } from "../validate.js";
import type { ClientAuthConfig } from "./config.js";
import { type KeySet, loadKeySet } from "./keys.js";

export interface MintOptions {
  /** The client id the token is for (its `sub`). */
  sub: string;
  /** Lifetime in seconds from now (its `exp`). */
  ttlSec: number;
  /** Sign with this key; by default the first key of the config that can sign. */
  kid?: string;
}

/**
 * Signs one client token with a key of `cfg` (an HS256 secret or a privateKeyFile). For the
 * `token` binary, scripts and tests; a deployment with an identity provider mints elsewhere and
 * gives msg_servers only the public keys. `keys` avoids re-reading the key files in a loop.
 */
export async function mintToken(cfg: ClientAuthConfig, opts: MintOptions, keys?: KeySet): Promise<string> {
  if (!isWellFormed(opts.sub) || opts.sub === "") throw new ConfigError("token sub must be a non-empty, well-formed string");
  if (!Number.isSafeInteger(opts.ttlSec) || opts.ttlSec <= 0) throw new ConfigError(`token ttl must be a positive number of seconds, got ${opts.ttlSec}`);
  const set = keys ?? (await loadKeySet({ ...cfg, mode: "token" }));
  const signers = [...set.keys.values()].filter((k) => k.signKey !== undefined);
  const key = opts.kid === undefined ? signers[0] : set.keys.get(opts.kid);
  if (!key) {
    throw new ConfigError(opts.kid === undefined ? "clientAuth has no key this process can sign with (an HS256 secret or a privateKeyFile)" : `clientAuth has no key with kid "${opts.kid}"`);
  }
  if (!key.signKey) throw new ConfigError(`clientAuth key "${key.kid}" cannot sign: it has no secret or privateKeyFile here`);
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" })
    .setSubject(canonicalText(opts.sub))
    .setIssuedAt(now)
    .setExpirationTime(now + opts.ttlSec)
    .setJti(randomUUID());
  if (cfg.issuer !== undefined) jwt.setIssuer(cfg.issuer);
  if (cfg.audience !== undefined) jwt.setAudience(cfg.audience);
  return jwt.sign(key.signKey);
}

/** "90", "90s", "15m", "1h", "7d" to seconds; undefined when it is none of those. */
export function parseTtl(s: string): number | undefined {
  const m = /^(\d{1,9})([smhd]?)$/.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as "" | "s" | "m" | "h" | "d"];
  return n > 0 && Number.isSafeInteger(n) ? n : undefined;
}
