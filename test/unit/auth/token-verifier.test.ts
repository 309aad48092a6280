import test from "node:test";
import assert from "node:assert/strict";
import { createSecretKey } from "node:crypto";
import { SignJWT, UnsecuredJWT, type JWTPayload } from "jose";
import { AuthError, ErrorCode } from "../../../shared/errors.js";
import { mintToken } from "../../../shared/auth/mint.js";
import { AuthFailure, sessionDeadlines, TokenRejected, TokenVerifier } from "../../../shared/auth/token-verifier.js";
import { authConfig, keyDir, pairs, pem, secret } from "./fixtures.js";

const now = () => Math.floor(Date.now() / 1000);

/** Signs arbitrary claims/header with an HS256 secret, for tokens mintToken would never make. */
function hs(key: string, claims: JWTPayload, header: Record<string, unknown> = { alg: "HS256", kid: "k1" }): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(createSecretKey(Buffer.from(key)));
}

async function rejected(p: Promise<unknown>, reason: AuthFailure): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TokenRejected, `expected TokenRejected, got ${String(err)}`);
    assert.ok(err instanceof AuthError);
    assert.equal(err.code, ErrorCode.IM_ERR_AUTH_FAILED);
    // One message for every reason: the client learns nothing; the reason is for the log.
    assert.equal(err.message, "authentication failed");
    assert.equal(err.reason, reason, `reason (detail: ${err.detail})`);
    return true;
  });
}

async function hsSetup(t: test.TestContext, extra: Record<string, unknown> = {}) {
  const d = keyDir(t);
  const key = secret();
  const cfg = authConfig({ keys: [{ kid: "k1", alg: "HS256", secretFile: d.write("k1.key", `${key}\n`) }], ...extra });
  return { key, cfg, v: await TokenVerifier.create(cfg) };
}

test("HS256: a minted token verifies and returns its claims", async (t) => {
  const { cfg, v } = await hsSetup(t);
  const token = await mintToken(cfg, { sub: "alice", ttlSec: 3600 });
  const r = await v.verify("alice", token);
  assert.equal(r.sub, "alice");
  assert.equal(r.kid, "k1");
  assert.ok(Math.abs(r.exp - (now() + 3600)) <= 2);
  assert.ok(r.iat !== undefined && Math.abs(r.iat - now()) <= 2);
  assert.match(r.jti ?? "", /^[0-9a-f-]{36}$/);
});

test("every kind of bad token is refused with IM_ERR_AUTH_FAILED and its own reason", async (t) => {
  const { key, v } = await hsSetup(t);
  const exp = now() + 600;
  await rejected(v.verify("alice", new UnsecuredJWT({ sub: "alice", exp }).encode()), AuthFailure.alg_not_allowed);
  await rejected(v.verify("alice", await hs(secret(), { sub: "alice", exp })), AuthFailure.bad_signature);
  await rejected(v.verify("alice", await hs(key, { sub: "bob", exp })), AuthFailure.sub_mismatch);
  await rejected(v.verify("alice", await hs(key, { sub: "alice", exp: now() - 120 })), AuthFailure.expired);
  await rejected(v.verify("alice", await hs(key, { sub: "alice" })), AuthFailure.missing_claim);
  await rejected(v.verify("alice", await hs(key, { exp })), AuthFailure.missing_claim);
  await rejected(v.verify("alice", await hs(key, { sub: "alice", exp, nbf: now() + 300 })), AuthFailure.not_yet_valid);
  await rejected(v.verify("alice", await hs(key, { sub: "alice", exp }, { alg: "HS256", kid: "k9" })), AuthFailure.unknown_kid);
  await rejected(v.verify("alice", await hs(key, { sub: "alice", exp: "soon" } as unknown as JWTPayload)), AuthFailure.bad_claim);
  await rejected(v.verify("alice", "not.a.jwt"), AuthFailure.malformed);
  await rejected(v.verify("alice", ""), AuthFailure.malformed);
  await rejected(v.verify("alice", "x".repeat(5000)), AuthFailure.too_long);

  // Tampered payload: bob's claims with alice's signature.
  const good = await hs(key, { sub: "alice", exp });
  const [h, , s] = good.split(".");
  const forged = `${h}.${Buffer.from(JSON.stringify({ sub: "bob", exp })).toString("base64url")}.${s}`;
  await rejected(v.verify("bob", forged), AuthFailure.bad_signature);
  // The same forgery after the genuine token is in the verified cache: still refused.
  await v.verify("alice", good);
  await rejected(v.verify("bob", forged), AuthFailure.bad_signature);
});

test("clock skew: exp and nbf are allowed clockSkewSec of disagreement, and no more", async (t) => {
  const { key, v } = await hsSetup(t, { clockSkewSec: 30 });
  assert.equal((await v.verify("a", await hs(key, { sub: "a", exp: now() - 10 }))).sub, "a");
  assert.equal((await v.verify("a", await hs(key, { sub: "a", exp: now() + 60, nbf: now() + 10 }))).sub, "a");
  await rejected(v.verify("a", await hs(key, { sub: "a", exp: now() - 40 })), AuthFailure.expired);
  // A cached token expires like any other.
  const token = await hs(key, { sub: "a", exp: now() + 60 });
  await v.verify("a", token);
  await rejected(v.verify("a", token, Date.now() + 100_000), AuthFailure.expired);
  await rejected(v.verify("a", token, Date.now() + 100_000), AuthFailure.expired);
});

test("issuer and audience are checked when configured", async (t) => {
  const { key, v } = await hsSetup(t, { issuer: "https://id.example", audience: ["fishchat", "chat2"] });
  const exp = now() + 600;
  assert.equal((await v.verify("a", await hs(key, { sub: "a", exp, iss: "https://id.example", aud: "chat2" }))).sub, "a");
  await rejected(v.verify("a", await hs(key, { sub: "a", exp, iss: "https://evil.example", aud: "fishchat" })), AuthFailure.bad_issuer);
  await rejected(v.verify("a", await hs(key, { sub: "a", exp, iss: "https://id.example", aud: "other" })), AuthFailure.bad_audience);
  await rejected(v.verify("a", await hs(key, { sub: "a", exp, aud: "fishchat" })), AuthFailure.missing_claim);
});

test("ids compare in canonical form; a lone surrogate in sub or id never matches", async (t) => {
  const { key, v } = await hsSetup(t);
  const exp = now() + 600;
  assert.equal((await v.verify("e\u0301", await hs(key, { sub: "\u00e9", exp }))).sub, "\u00e9");
  await rejected(v.verify("\ud800zz", await hs(key, { sub: "\ud800zz", exp })), AuthFailure.bad_claim);
  await rejected(v.verify("\udbffzz", await hs(key, { sub: "\ufffdzz", exp })), AuthFailure.sub_mismatch);
});

test("RS256, ES256 and EdDSA keys verify their own tokens; each key is pinned to its algorithm", async (t) => {
  const d = keyDir(t);
  const { ec, ed, rsa } = pairs();
  const mintCfg = authConfig({
    keys: [
      { kid: "rs", alg: "RS256", privateKeyFile: d.write("rs.pem", pem.priv(rsa.privateKey)) },
      { kid: "es", alg: "ES256", privateKeyFile: d.write("es.pem", pem.priv(ec.privateKey)) },
      { kid: "ed", alg: "EdDSA", privateKeyFile: d.write("ed.pem", pem.priv(ed.privateKey)) },
    ],
  });
  // The verifying side has only the public keys.
  const rsPub = pem.pub(rsa.publicKey);
  const v = await TokenVerifier.create(
    authConfig({
      keys: [
        { kid: "rs", alg: "RS256", publicKeyFile: d.write("rs.pub", rsPub) },
        { kid: "es", alg: "ES256", publicKeyFile: d.write("es.pub", pem.pub(ec.publicKey)) },
        { kid: "ed", alg: "EdDSA", publicKeyFile: d.write("ed.pub", pem.pub(ed.publicKey)) },
      ],
    }),
  );
  assert.deepEqual(v.kids, ["rs", "es", "ed"]);
  for (const kid of ["rs", "es", "ed"]) {
    const r = await v.verify("carol", await mintToken(mintCfg, { sub: "carol", ttlSec: 60, kid }));
    assert.equal(r.kid, kid);
  }
  // Algorithm confusion: an HS256 token "signed" with the RSA public key as the HMAC secret.
  await rejected(v.verify("carol", await hs(rsPub, { sub: "carol", exp: now() + 60 }, { alg: "HS256", kid: "rs" })), AuthFailure.alg_not_allowed);
  // The ES256 key's token relabelled as another key's kid does not verify either.
  const es = await mintToken(mintCfg, { sub: "carol", ttlSec: 60, kid: "es" });
  const relabelled = `${Buffer.from(JSON.stringify({ alg: "ES256", kid: "ed" })).toString("base64url")}.${es.split(".").slice(1).join(".")}`;
  await rejected(v.verify("carol", relabelled), AuthFailure.alg_not_allowed);
});

test("several keys at once, chosen by kid; a token without kid only when one key exists", async (t) => {
  const d = keyDir(t);
  const [s1, s2] = [secret(), secret()];
  const cfg = authConfig({
    keys: [
      { kid: "old", alg: "HS256", secret: s1 },
      { kid: "new", alg: "HS256", secretFile: d.write("new.key", s2) },
    ],
  });
  const v = await TokenVerifier.create(cfg);
  assert.equal((await v.verify("a", await mintToken(cfg, { sub: "a", ttlSec: 60, kid: "old" }))).kid, "old");
  assert.equal((await v.verify("a", await mintToken(cfg, { sub: "a", ttlSec: 60, kid: "new" }))).kid, "new");
  assert.equal((await v.verify("a", await mintToken(cfg, { sub: "a", ttlSec: 60 }))).kid, "old", "mint defaults to the first signing key");
  const noKid = (k: string) => hs(k, { sub: "a", exp: now() + 60 }, { alg: "HS256" });
  await rejected(v.verify("a", await noKid(s1)), AuthFailure.kid_required);
  const single = await TokenVerifier.create(authConfig({ keys: [{ kid: "only", alg: "HS256", secret: s1 }] }));
  assert.equal((await single.verify("a", await noKid(s1))).kid, "only");
});

test("the verified cache is bounded and only holds successes", async (t) => {
  const { cfg, key } = await hsSetup(t);
  const v = await TokenVerifier.create({ ...cfg, verifiedCacheSize: 3 });
  const cache = (v as unknown as { cache: { size: number } }).cache;
  for (const sub of ["a", "b", "c", "d", "e"]) await v.verify(sub, await mintToken(cfg, { sub, ttlSec: 60 }));
  assert.equal(cache.size, 3);
  await rejected(v.verify("a", await hs(secret(), { sub: "a", exp: now() + 60 })), AuthFailure.bad_signature);
  await rejected(v.verify("z", await hs(key, { sub: "z", exp: now() - 600 })), AuthFailure.expired);
  assert.equal(cache.size, 3);
});

test("session deadlines: the notice expiringNoticeSec before exp, the close after the skew", () => {
  const cfg = { clockSkewSec: 30, expiringNoticeSec: 60 };
  const nowMs = 1_000_000_000;
  assert.deepEqual(sessionDeadlines({ exp: nowMs / 1000 + 600 }, cfg, nowMs), { noticeInMs: 540_000, expireInMs: 630_000 });
  // Logged in with a token that is already inside its notice period, or past exp within the skew.
  assert.deepEqual(sessionDeadlines({ exp: nowMs / 1000 + 20 }, cfg, nowMs), { noticeInMs: 0, expireInMs: 50_000 });
  assert.deepEqual(sessionDeadlines({ exp: nowMs / 1000 - 10 }, cfg, nowMs), { noticeInMs: 0, expireInMs: 20_000 });
});
