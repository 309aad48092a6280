import test from "node:test";
import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { clientAuthSchema } from "../../../shared/auth/config.js";
import { mintToken } from "../../../shared/auth/mint.js";
import { loadKeySet } from "../../../shared/auth/keys.js";
import { AuthFailure, type TokenRejected, TokenVerifier } from "../../../shared/auth/token-verifier.js";
import { ConfigError } from "../../../shared/errors.js";
import { authConfig, capturingLogger, keyDir, pairs, pem, secret } from "./fixtures.js";

const configError = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ConfigError, String(err));
  assert.equal(err.code, "IM_ERR_CONFIG");
  assert.match(err.message, pattern);
  return true;
};

test("schema: defaults with units, explicit mode, one kind of material per algorithm", () => {
  const c = clientAuthSchema.parse({ keys: [{ kid: "k", alg: "HS256", secretFile: "x" }] });
  assert.equal(c.mode, "token");
  assert.equal(c.clockSkewSec, 30);
  assert.equal(c.expiringNoticeSec, 60);
  assert.equal(c.maxTokenBytes, 4096);
  assert.equal(clientAuthSchema.parse({ mode: "none" }).mode, "none");
  const bad: [unknown, RegExp][] = [
    [{}, /needs keys or a jwksFile/],
    [{ keys: [{ kid: "k", alg: "HS256" }] }, /exactly one of secret or secretFile/],
    [{ keys: [{ kid: "k", alg: "HS256", secret: "short" }] }, /at least 32 bytes/],
    [{ keys: [{ kid: "k", alg: "ES256", secret: "x".repeat(40) }] }, /not a secret/],
    [{ keys: [{ kid: "k", alg: "RS256" }] }, /needs publicKeyFile/],
    [{ keys: [{ kid: "k", alg: "none", secretFile: "x" }] }, /alg/],
    [{ keys: [{ kid: "k", alg: "HS256", secretFile: "x" }, { kid: "k", alg: "HS256", secretFile: "y" }] }, /duplicate kid "k"/],
    [{ mode: "token", keys: [], jwksFile: "", extra: 1 }, /./],
  ];
  for (const [raw, msg] of bad) {
    const r = clientAuthSchema.safeParse(raw);
    assert.equal(r.success, false, JSON.stringify(raw));
    assert.match(r.error!.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; "), msg, JSON.stringify(raw));
  }
});

test("key files: clear ConfigErrors naming the key, the file and what to do", async (t) => {
  const d = keyDir(t);
  const { ec, rsa } = pairs();
  await assert.rejects(
    loadKeySet(authConfig({ keys: [{ kid: "dev", alg: "HS256", secretFile: `${d.dir}/missing.key` }] })),
    configError(/kid "dev".*missing\.key.*ENOENT.*npm start.*token --init-dev-key/),
  );
  await assert.rejects(loadKeySet(authConfig({ keys: [{ kid: "s", alg: "HS256", secretFile: d.write("short", "abc\n") }] })), configError(/3 bytes, at least 32/));
  await assert.rejects(
    loadKeySet(authConfig({ keys: [{ kid: "r", alg: "RS256", publicKeyFile: d.write("ec.pub", pem.pub(ec.publicKey)) }] })),
    configError(/RS256 needs an RSA key/),
  );
  await assert.rejects(loadKeySet(authConfig({ keys: [{ kid: "e", alg: "ES256", publicKeyFile: d.write("junk.pub", "hello") }] })), configError(/not a PEM key/));
  await assert.rejects(
    loadKeySet(
      authConfig({ keys: [{ kid: "r", alg: "RS256", publicKeyFile: d.write("rsa.pub", pem.pub(rsa.publicKey)), privateKeyFile: d.write("other.pem", pem.priv(pairs().rsa.privateKey)) }] }),
    ),
    configError(/not one key pair/),
  );
});

test("a secret file readable by every user loads, with a warning; group-readable is fine", async (t) => {
  const d = keyDir(t);
  const f = d.write("k", secret());
  const cfg = authConfig({ keys: [{ kid: "k", alg: "HS256", secretFile: f }] });
  chmodSync(f, 0o640);
  assert.deepEqual((await loadKeySet(cfg)).warnings, []);
  chmodSync(f, 0o644);
  const set = await loadKeySet(cfg);
  assert.equal(set.keys.size, 1);
  assert.match(set.warnings.join("\n"), /readable by every user/);
});

test("JWKS: public keys of every supported type; enc and unsupported keys are skipped", async (t) => {
  const d = keyDir(t);
  const { ec, ed, rsa } = pairs();
  const s = secret();
  const jwks = {
    keys: [
      { ...ec.publicKey.export({ format: "jwk" }), kid: "es" },
      { ...ed.publicKey.export({ format: "jwk" }), kid: "ed", alg: "EdDSA" },
      { ...rsa.publicKey.export({ format: "jwk" }), kid: "rs", use: "sig" },
      { kty: "oct", k: Buffer.from(s).toString("base64url"), kid: "hs" },
      { ...rsa.publicKey.export({ format: "jwk" }), kid: "rs-enc", use: "enc" },
      { ...rsa.publicKey.export({ format: "jwk" }), kid: "rs512", alg: "RS512" },
    ],
  };
  const jwksFile = d.write("jwks.json", JSON.stringify(jwks));
  const v = await TokenVerifier.create(authConfig({ jwksFile }));
  assert.deepEqual(v.kids.sort(), ["ed", "es", "hs", "rs"]);
  const signers = authConfig({
    keys: [
      { kid: "es", alg: "ES256", privateKeyFile: d.write("es.pem", pem.priv(ec.privateKey)) },
      { kid: "ed", alg: "EdDSA", privateKeyFile: d.write("ed.pem", pem.priv(ed.privateKey)) },
      { kid: "rs", alg: "RS256", privateKeyFile: d.write("rs.pem", pem.priv(rsa.privateKey)) },
      { kid: "hs", alg: "HS256", secret: s },
    ],
  });
  for (const kid of ["es", "ed", "rs", "hs"]) assert.equal((await v.verify("u", await mintToken(signers, { sub: "u", ttlSec: 60, kid }))).kid, kid);
  await assert.rejects(loadKeySet(authConfig({ jwksFile: d.write("nokid.json", JSON.stringify({ keys: [{ kty: "oct", k: "abc" }] })) })), configError(/needs a "kid"/));
  await assert.rejects(loadKeySet(authConfig({ jwksFile: d.write("arr.json", "[]") })), configError(/expected \{"keys"/));
  await assert.rejects(
    loadKeySet(authConfig({ keys: [{ kid: "es", alg: "HS256", secret: s }], jwksFile })),
    configError(/kid "es" is defined twice/),
  );
});

test("reload: rotation without downtime, a bad file keeps the old keys, removed keys stop admitting", async (t) => {
  const d = keyDir(t);
  const { log, lines } = capturingLogger();
  const a = pairs().ec;
  const b = pairs().ec;
  const jwksFile = d.write("jwks.json", JSON.stringify({ keys: [{ ...a.publicKey.export({ format: "jwk" }), kid: "a" }] }));
  const v = await TokenVerifier.create(authConfig({ jwksFile }), log);
  const signers = authConfig({
    keys: [
      { kid: "a", alg: "ES256", privateKeyFile: d.write("a.pem", pem.priv(a.privateKey)) },
      { kid: "b", alg: "ES256", privateKeyFile: d.write("b.pem", pem.priv(b.privateKey)) },
    ],
  });
  const tokA = await mintToken(signers, { sub: "u", ttlSec: 600, kid: "a" });
  const tokB = await mintToken(signers, { sub: "u", ttlSec: 600, kid: "b" });
  await v.verify("u", tokA); // now in the verified cache
  await assert.rejects(v.verify("u", tokB), (e: TokenRejected) => e.reason === AuthFailure.unknown_kid);

  // Step 1 of a rotation: publish b next to a.
  writeFileSync(jwksFile, JSON.stringify({ keys: [a, b].map((p, i) => ({ ...p.publicKey.export({ format: "jwk" }), kid: "ab"[i] })) }));
  assert.deepEqual(await v.reload(), { ok: true, kids: ["a", "b"] });
  await v.verify("u", tokA);
  await v.verify("u", tokB);

  // A broken file (half written, say) changes nothing and says why.
  writeFileSync(jwksFile, '{"keys": [');
  const bad = await v.reload();
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.kids, ["a", "b"]);
  assert.ok(bad.error instanceof ConfigError);
  await v.verify("u", tokA);
  const logged = lines.find((l) => l.level === 50);
  assert.match(String(logged?.msg), /previous keys stay in use/);
  assert.match(JSON.stringify(logged?.err), /invalid JSON/);

  // Step 2: retire a. Its tokens stop working at once, even the cached one.
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...b.publicKey.export({ format: "jwk" }), kid: "b" }] }));
  assert.deepEqual((await v.reload()).kids, ["b"]);
  await assert.rejects(v.verify("u", tokA), (e: TokenRejected) => e.reason === AuthFailure.unknown_kid);
  await v.verify("u", tokB);
  assert.ok(lines.some((l) => l.msg === "client token keys reloaded" && JSON.stringify(l.removed) === '["a"]'));
});

test("reload also re-reads secret files from the config", async (t) => {
  const d = keyDir(t);
  const f = d.write("k.key", secret());
  const cfg = authConfig({ keys: [{ kid: "k", alg: "HS256", secretFile: f }] });
  const v = await TokenVerifier.create(cfg);
  const before = await mintToken(cfg, { sub: "u", ttlSec: 60 });
  writeFileSync(f, secret());
  assert.equal((await v.reload()).ok, true);
  await assert.rejects(v.verify("u", before), (e: TokenRejected) => e.reason === AuthFailure.bad_signature);
  await v.verify("u", await mintToken(cfg, { sub: "u", ttlSec: 60 }));
});

test("a verification that straddles a reload does not leave a removed key's token cached", async (t) => {
  const d = keyDir(t);
  const a = pairs().ec;
  const jwk = { ...a.publicKey.export({ format: "jwk" }), kid: "a" };
  const jwksFile = d.write("jwks.json", JSON.stringify({ keys: [jwk] }));
  const v = await TokenVerifier.create(authConfig({ jwksFile }));
  const signer = authConfig({ keys: [{ kid: "a", alg: "ES256", privateKeyFile: d.write("a.pem", pem.priv(a.privateKey)) }] });
  const tokens = await Promise.all(["u1", "u2", "u3", "u4"].map((sub) => mintToken(signer, { sub, ttlSec: 600 })));
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...pairs().ed.publicKey.export({ format: "jwk" }), kid: "b" }] }));
  // Verifications in flight while the reload swaps the keys: each may pass or fail, but none may stick.
  const inFlight = tokens.map((tok, i) => v.verify(`u${i + 1}`, tok).catch(() => undefined));
  assert.equal((await v.reload()).ok, true);
  await Promise.all(inFlight);
  for (const [i, tok] of tokens.entries()) await assert.rejects(v.verify(`u${i + 1}`, tok), (e: TokenRejected) => e.reason === AuthFailure.unknown_kid);
});
