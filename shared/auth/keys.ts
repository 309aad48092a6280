import { createPrivateKey, createPublicKey, createSecretKey, type JsonWebKey, type KeyObject, webcrypto } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "../errors.js";
import { type ClientAuthConfig, MIN_HS256_SECRET_BYTES, TokenAlg, type TokenKeyConfig } from "./config.js";

/**
 * Key material of client tokens, read from the config and the JWKS file. Everything is checked
 * with node:crypto first (clear errors naming the key), then imported once into WebCrypto keys:
 * jose given a secret KeyObject would re-import it on every verification.
 */

export type CryptoKey = webcrypto.CryptoKey;
const { subtle } = webcrypto;

export interface LoadedKey {
  readonly kid: string;
  readonly alg: TokenAlg;
  /** Where the key came from, for logs: "config" or the JWKS file path. */
  readonly source: string;
  readonly verifyKey: CryptoKey;
  /** Present when this process can sign with the key (HS256 secret, or a privateKeyFile). */
  readonly signKey?: CryptoKey;
}

export interface KeySet {
  readonly keys: ReadonlyMap<string, LoadedKey>;
  /** Things worth a warning that do not stop loading (skipped JWKS entries, readable secret files). */
  readonly warnings: readonly string[];
}

/** Hint for the one missing file most people hit: the development key `npm start` creates. */
const DEV_KEY_HINT = 'run "npm start" once (it creates a development key under ./data) or "token --init-dev-key <dir>"';

const SUBTLE_PARAMS: Record<TokenAlg, webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.HmacImportParams | webcrypto.Algorithm> = {
  HS256: { name: "HMAC", hash: "SHA-256" },
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  EdDSA: { name: "Ed25519" },
};

function readKeyFile(file: string, what: string, kidLabel: string, hint = ""): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const tail = code === "ENOENT" && hint ? `; ${hint}` : "";
    throw new ConfigError(`clientAuth ${kidLabel}: cannot read ${what} "${file}" (${code})${tail}`, { cause: err });
  }
}

/** Bytes of a secret file without trailing whitespace (`echo` and `openssl rand -base64` add a newline). */
function trimEnd(buf: Buffer): Buffer {
  let end = buf.length;
  while (end > 0 && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d || buf[end - 1] === 0x20 || buf[end - 1] === 0x09)) end--;
  return buf.subarray(0, end);
}

/** The key type node:crypto must report for each algorithm, so a key never serves another algorithm. */
function checkAsymmetric(alg: TokenAlg, key: KeyObject, label: string): void {
  const type = key.asymmetricKeyType;
  const ok =
    (alg === TokenAlg.RS256 && type === "rsa" && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) ||
    (alg === TokenAlg.ES256 && type === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") ||
    (alg === TokenAlg.EdDSA && type === "ed25519");
  if (!ok) {
    const want = { RS256: "an RSA key of 2048 bits or more", ES256: "an EC P-256 key", EdDSA: "an Ed25519 key", HS256: "a secret" }[alg];
    const details = key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyDetails?.modulusLength ?? "";
    throw new ConfigError(`clientAuth ${label}: ${alg} needs ${want}, the file holds ${type ?? key.type} ${details}`.trimEnd());
  }
}

async function importVerify(alg: TokenAlg, key: KeyObject): Promise<CryptoKey> {
  if (alg === TokenAlg.HS256) return subtle.importKey("raw", key.export(), SUBTLE_PARAMS.HS256, false, ["verify", "sign"]);
  return subtle.importKey("spki", key.export({ type: "spki", format: "der" }), SUBTLE_PARAMS[alg], false, ["verify"]);
}

async function importSign(alg: TokenAlg, key: KeyObject): Promise<CryptoKey> {
  return subtle.importKey("pkcs8", key.export({ type: "pkcs8", format: "der" }), SUBTLE_PARAMS[alg], false, ["sign"]);
}

function secretOf(k: TokenKeyConfig, label: string, warnings: string[]): Buffer {
  let bytes: Buffer;
  if (k.secretFile !== undefined) {
    bytes = trimEnd(readKeyFile(k.secretFile, "secretFile", label, DEV_KEY_HINT));
    try {
      // A world-readable secret is a deployment mistake worth saying, not a reason to refuse. (Group
      // read is the intended root:fishchat 0640 setup of docs/DEPLOY.md.)
      if ((statSync(k.secretFile).mode & 0o007) !== 0) warnings.push(`${label}: secretFile "${k.secretFile}" is readable by every user of this machine (chmod o-rwx it)`);
    } catch {
      // stat after a successful read can only fail in a race; the read result stands.
    }
  } else {
    bytes = Buffer.from(k.secret ?? "", "utf8");
  }
  if (bytes.length < MIN_HS256_SECRET_BYTES) {
    throw new ConfigError(`clientAuth ${label}: the HS256 secret has ${bytes.length} bytes, at least ${MIN_HS256_SECRET_BYTES} are needed`);
  }
  return bytes;
}

async function loadConfigKey(k: TokenKeyConfig, index: number, warnings: string[]): Promise<LoadedKey> {
  const label = `keys[${index}] (kid "${k.kid}")`;
  if (k.alg === TokenAlg.HS256) {
    const key = await importVerify(k.alg, createSecretKey(secretOf(k, label, warnings)));
    return { kid: k.kid, alg: k.alg, source: "config", verifyKey: key, signKey: key };
  }
  let priv: KeyObject | undefined;
  let pub: KeyObject;
  try {
    if (k.privateKeyFile !== undefined) priv = createPrivateKey(readKeyFile(k.privateKeyFile, "privateKeyFile", label));
    pub = k.publicKeyFile !== undefined ? createPublicKey(readKeyFile(k.publicKeyFile, "publicKeyFile", label)) : createPublicKey(priv!);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`clientAuth ${label}: not a PEM key: ${(err as Error).message}`, { cause: err });
  }
  checkAsymmetric(k.alg, pub, label);
  if (priv && createPublicKey(priv).export({ type: "spki", format: "der" }).compare(pub.export({ type: "spki", format: "der" })) !== 0) {
    throw new ConfigError(`clientAuth ${label}: privateKeyFile and publicKeyFile are not one key pair`);
  }
  return { kid: k.kid, alg: k.alg, source: "config", verifyKey: await importVerify(k.alg, pub), signKey: priv ? await importSign(k.alg, priv) : undefined };
}

/** The algorithm a JWK is used with when it does not say (`alg` is optional in RFC 7517). */
function algOfJwk(jwk: JsonWebKey & { alg?: unknown }): TokenAlg | string {
  if (typeof jwk.alg === "string") return jwk.alg;
  if (jwk.kty === "RSA") return TokenAlg.RS256;
  if (jwk.kty === "EC" && jwk.crv === "P-256") return TokenAlg.ES256;
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return TokenAlg.EdDSA;
  if (jwk.kty === "oct") return TokenAlg.HS256;
  return `${String(jwk.kty)}/${String(jwk.crv)}`;
}

const SUPPORTED = new Set<string>(Object.values(TokenAlg));

/** Keys of a JWKS file. An unreadable or malformed file throws; entries we cannot use are skipped with a warning. */
export async function loadJwksFile(file: string, warnings: string[]): Promise<LoadedKey[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(readKeyFile(file, "jwksFile", "jwksFile").toString("utf8"));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`clientAuth jwksFile "${file}": invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  const entries = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(entries)) throw new ConfigError(`clientAuth jwksFile "${file}": expected {"keys": [...]}`);
  const out: LoadedKey[] = [];
  for (const [i, raw] of entries.entries()) {
    const jwk = raw as JsonWebKey & { kid?: unknown; alg?: unknown; use?: unknown };
    const label = `jwksFile "${file}" keys[${i}]`;
    if (jwk === null || typeof jwk !== "object" || typeof jwk.kid !== "string" || jwk.kid === "") {
      throw new ConfigError(`clientAuth ${label}: every key needs a "kid"`);
    }
    if (jwk.use === "enc") continue;
    const alg = algOfJwk(jwk);
    if (!SUPPORTED.has(alg)) {
      warnings.push(`${label} (kid "${jwk.kid}"): algorithm ${alg} is not supported; key skipped`);
      continue;
    }
    const kidLabel = `${label} (kid "${jwk.kid}")`;
    let key: KeyObject;
    try {
      key = alg === TokenAlg.HS256 ? createSecretKey(Buffer.from(String(jwk.k ?? ""), "base64url")) : createPublicKey({ key: jwk, format: "jwk" });
    } catch (err) {
      throw new ConfigError(`clientAuth ${kidLabel}: not a valid JWK: ${(err as Error).message}`, { cause: err });
    }
    if (alg === TokenAlg.HS256) {
      if ((key.symmetricKeySize ?? 0) < MIN_HS256_SECRET_BYTES) throw new ConfigError(`clientAuth ${kidLabel}: an HS256 key needs at least ${MIN_HS256_SECRET_BYTES} bytes`);
    } else {
      checkAsymmetric(alg as TokenAlg, key, kidLabel);
    }
    out.push({ kid: jwk.kid, alg: alg as TokenAlg, source: file, verifyKey: await importVerify(alg as TokenAlg, key) });
  }
  return out;
}

/** All keys of a clientAuth config. Throws ConfigError on the first problem; nothing is half loaded. */
export async function loadKeySet(cfg: ClientAuthConfig): Promise<KeySet> {
  const warnings: string[] = [];
  const keys = new Map<string, LoadedKey>();
  const add = (k: LoadedKey) => {
    const prev = keys.get(k.kid);
    if (prev) throw new ConfigError(`clientAuth: kid "${k.kid}" is defined twice (${prev.source} and ${k.source})`);
    keys.set(k.kid, k);
  };
  for (const [i, k] of cfg.keys.entries()) add(await loadConfigKey(k, i, warnings));
  if (cfg.jwksFile !== undefined) for (const k of await loadJwksFile(cfg.jwksFile, warnings)) add(k);
  if (cfg.mode === "token" && keys.size === 0) throw new ConfigError("clientAuth: no usable key (keys and jwksFile yield none)");
  return { keys, warnings };
}
