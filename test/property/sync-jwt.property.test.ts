/**
 * The synchronous token path (shared/auth/sync-jwt.ts) must answer exactly as jose does: same
 * claims for a good token, same refusal reason for a bad one. Random headers (alg, kid, typ, and
 * sometimes crit, b64 or other parameters that send the token to jose), random claims (types,
 * times around the skew, issuer, audience), signed with the right key, another key or none, then
 * sometimes damaged (a character changed, padding, a part dropped or added). Each token goes
 * through a verifier with the synchronous path and one that uses jose only; the answers must match.
 */
import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from "node:crypto";
import test from "node:test";
import fc from "fast-check";
import { TokenRejected, TokenVerifier } from "../../shared/auth/token-verifier.js";
import { authConfig, keyDir, pem, secret } from "../unit/auth/fixtures.js";

const NOW = Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

type Signer = "hs" | "hsOther" | "ec" | "ecOther" | "none";

interface Keys {
  hs: string;
  hsOther: string;
  ec: KeyObject;
  ecOther: KeyObject;
}

function signPart(keys: Keys, signer: Signer, input: string): string {
  if (signer === "none") return "";
  if (signer === "hs" || signer === "hsOther") return createHmac("sha256", keys[signer]).update(input).digest("base64url");
  return cryptoSign("sha256", Buffer.from(input), { key: keys[signer], dsaEncoding: "ieee-p1363" }).toString("base64url");
}

const time = fc.oneof(
  fc.constantFrom(NOW + 600, NOW - 600, NOW - 30, NOW + 30, NOW - 29, NOW + 31, NOW - 31, NOW + 29, NOW),
  fc.constantFrom<unknown>("soon", null, undefined, true),
);
const header = fc.record(
  {
    alg: fc.constantFrom<unknown>("HS256", "HS256", "ES256", "none", "RS256", "EdDSA", "", 5),
    kid: fc.constantFrom<unknown>("h1", "e1", "zz", 7, undefined),
    typ: fc.constantFrom<unknown>("JWT", "at+jwt", undefined),
    crit: fc.constantFrom<unknown>(undefined, undefined, undefined, ["b64"], ["exp"], []),
    b64: fc.constantFrom<unknown>(undefined, undefined, undefined, false, true),
    x5u: fc.constantFrom<unknown>(undefined, undefined, undefined, "https://example.invalid"),
  },
  { requiredKeys: [] },
);
const anyClaims = fc.record(
  {
    sub: fc.constantFrom<unknown>("alice", "alice", "bob", 5, ""),
    exp: time,
    nbf: time,
    iat: time,
    iss: fc.constantFrom<unknown>("fishchat", "other", 3),
    aud: fc.constantFrom<unknown>("chat", ["x", "chat"], ["x"], "x", 1),
    jti: fc.constantFrom<unknown>("j1", 9),
  },
  { requiredKeys: [] },
);
const GOOD = { sub: "alice", exp: NOW + 600, iat: NOW, iss: "fishchat", aud: "chat" };
const GOOD_HS = { alg: "HS256", kid: "h1", typ: "JWT" };
const GOOD_EC = { alg: "ES256", kid: "e1" };
const damage = fc.constantFrom("flip-sig", "flip-payload", "pad", "two-parts", "four-parts", "bad-char", "len1", "not-json-payload");

interface Case {
  h: Record<string, unknown>;
  c: Record<string, unknown>;
  signer: Signer;
  how: string;
}
const signer = fc.constantFrom<Signer>("hs", "ec", "hsOther", "ecOther", "none");
const pick = <T extends object>(a: fc.Arbitrary<T>, names: string[]) => a.chain((r) => fc.constantFrom(...names).map((k) => [k, (r as Record<string, unknown>)[k]] as const));
/** Mostly a good token with exactly one thing changed, so each rule is reached; sometimes anything at all. */
const tokenCase: fc.Arbitrary<Case> = fc.oneof(
  fc.constantFrom<Case>({ h: GOOD_HS, c: GOOD, signer: "hs", how: "none" }, { h: GOOD_EC, c: GOOD, signer: "ec", how: "none" }),
  pick(anyClaims, [...Object.keys(GOOD), "nbf", "jti"]).map(([k, v]) => ({ h: GOOD_HS, c: { ...GOOD, [k]: v }, signer: "hs" as Signer, how: "none" })),
  pick(header, ["alg", "kid", "typ", "crit", "b64", "x5u"]).map(([k, v]) => ({ h: { ...GOOD_HS, [k]: v }, c: GOOD, signer: "hs" as Signer, how: "none" })),
  signer.map((sg) => ({ h: GOOD_HS, c: GOOD, signer: sg, how: "none" })),
  damage.map((how) => ({ h: GOOD_EC, c: GOOD, signer: "ec" as Signer, how })),
  fc.record({ h: header, c: anyClaims, signer, how: damage }),
);

function build(keys: Keys, h: Record<string, unknown>, c: Record<string, unknown>, signer: Signer, how: string): string {
  // undefined members vanish in JSON, as they would from a real issuer's header.
  const hp = b64(h);
  const pp = how === "not-json-payload" ? b64("{nope") : b64(c);
  const sig = signPart(keys, signer, `${hp}.${pp}`);
  const flip = (s: string) => (s.length === 0 ? "A" : `${s.slice(0, -2)}${s.at(-2) === "A" ? "B" : "A"}${s.slice(-1)}`);
  switch (how) {
    case "flip-sig":
      return `${hp}.${pp}.${flip(sig)}`;
    case "flip-payload":
      return `${hp}.${flip(pp)}.${sig}`;
    case "pad":
      return `${hp}.${pp}.${sig}=`;
    case "two-parts":
      return `${hp}.${pp}`;
    case "four-parts":
      return `${hp}.${pp}.${sig}.x`;
    case "bad-char":
      return `${hp}.${pp}.${sig.slice(0, 4)}+${sig.slice(5)}`;
    case "len1": {
      // A length no base64 text can have: jose's decoder refuses it, Buffer's would not.
      let s = `${sig}AAAA`;
      while (s.length % 4 !== 1) s = s.slice(0, -1);
      return `${hp}.${pp}.${s}`;
    }
    default:
      return `${hp}.${pp}.${sig}`;
  }
}

async function outcome(v: TokenVerifier, token: string): Promise<unknown> {
  try {
    return { ok: await v.verify("alice", token, NOW * 1000) };
  } catch (err) {
    if (err instanceof TokenRejected) return { rejected: err.reason };
    return { threw: String(err) };
  }
}

test("the synchronous token path answers as jose does, on good, bad and damaged tokens", async (t) => {
  const d = keyDir(t);
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const keys: Keys = { hs: secret(), hsOther: secret(), ec: ec.privateKey, ecOther: generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey };
  const configs = [
    // Two keys: kid is required; HS256 and ES256 side by side; issuer and audience checked.
    authConfig({
      keys: [
        { kid: "h1", alg: "HS256", secretFile: d.write("h1.key", keys.hs) },
        { kid: "e1", alg: "ES256", publicKeyFile: d.write("e1.pub", pem.pub(ec.publicKey)) },
      ],
      issuer: "fishchat",
      audience: ["chat", "admin"],
      verifiedCacheSize: 0,
    }),
    // One key, no issuer or audience: a token without kid is accepted.
    authConfig({ keys: [{ kid: "h1", alg: "HS256", secretFile: d.write("h1b.key", keys.hs) }], verifiedCacheSize: 0 }),
  ];
  let accepted = 0;
  let handledBySync = 0;
  for (const cfg of configs) {
    const fast = await TokenVerifier.create(cfg);
    const jose = await TokenVerifier.create(cfg, undefined, { joseOnly: true });
    await fc.assert(
      fc.asyncProperty(tokenCase, async ({ h, c, signer, how }) => {
        const token = build(keys, h, c, signer, how);
        const a = await outcome(fast, token);
        const b = await outcome(jose, token);
        assert.deepEqual(a, b, `token ${token}`);
        if ((a as { ok?: unknown }).ok) accepted++;
        if (Object.keys(JSON.parse(JSON.stringify(h)) as object).every((k) => ["alg", "kid", "typ"].includes(k))) handledBySync++;
      }),
      { numRuns: 600 },
    );
  }
  // The generators must reach both sides: tokens that pass, and many on the synchronous path.
  assert.ok(accepted > 5, `only ${accepted} tokens were accepted: the generators no longer make good tokens`);
  assert.ok(handledBySync > 200, `only ${handledBySync} tokens had a simple header`);
});
