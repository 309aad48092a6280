import test from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CommandError } from "../../../shared/errors.js";
import { canonicalText, checkClientId, checkTopicName, isWellFormed, sameName } from "../../../shared/validate.js";

const badId = (e: unknown) => e instanceof CommandError && e.code === "IM_ERR_BAD_CLIENT_ID";

test("a lone surrogate is not an id: \\ud800zz and \\udbffzz can no longer collide as U+FFFD", () => {
  for (const bad of ["\ud800zz", "\udbffzz", "zz\udc00", "a\ud800\ud800b"]) assert.throws(() => checkClientId(bad), badId, JSON.stringify(bad));
  // Both would have been stored as these bytes; the real U+FFFD id is a different, valid id.
  assert.equal(Buffer.from("\ud800zz").toString("hex"), Buffer.from("\udbffzz").toString("hex"));
  assert.equal(checkClientId("\ufffdzz"), "\ufffdzz");
  // A correctly paired surrogate (an emoji) is fine.
  assert.equal(checkClientId("bob\ud83d\ude00"), "bob😀");
  assert.throws(() => checkTopicName("t\ud800"), (e: unknown) => e instanceof CommandError && e.code === "IM_ERR_BAD_TOPIC_NAME");
});

test("ids come back in NFC, so canonically equal spellings are one client", () => {
  const composed = "jos\u00e9";
  const decomposed = "jose\u0301";
  assert.notEqual(composed, decomposed);
  assert.equal(checkClientId(decomposed), composed);
  assert.equal(checkClientId(composed), composed);
  assert.ok(sameName(composed, decomposed));
  assert.ok(!sameName("alice", "alicf"));
  // Unchanged for what was valid before: ASCII and already-NFC ids, and the old limits.
  for (const ok of ["alice", "a.b@c:d", "用户1", "x".repeat(128)]) assert.equal(checkClientId(ok), ok);
  for (const bad of ["", "a b", 'a"b', "a\\b", "a\u0001", "$system", "x".repeat(129), undefined]) assert.throws(() => checkClientId(bad), badId);
});

test("isWellFormed agrees with a surrogate scan", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 40 }), fc.array(fc.integer({ min: 0xd800, max: 0xdfff }), { maxLength: 2 }), (s, lone) => {
      const t = s + String.fromCharCode(...lone);
      assert.equal(isWellFormed(t), !/\p{Cs}/u.test(t));
    }),
  );
});

test("property: accepted ids are canonical and idempotent, and distinct ids have distinct UTF-8 bytes", () => {
  const idChar = fc.oneof(
    fc.string({ unit: "binary", minLength: 1, maxLength: 12 }),
    fc.constantFrom("\ud800", "\udbff", "\udc00", "e\u0301", "\u00e9", "\ufffd", "A\u030a", "\u212b"),
  );
  const candidate = fc.array(idChar, { minLength: 1, maxLength: 4 }).map((parts) => parts.join(""));
  fc.assert(
    fc.property(candidate, candidate, (a, b) => {
      const accept = (s: string): string | undefined => {
        try {
          return checkClientId(s);
        } catch (err) {
          assert.ok(badId(err), `only IM_ERR_BAD_CLIENT_ID may be thrown, got ${String(err)}`);
          return undefined;
        }
      };
      const ca = accept(a);
      const cb = accept(b);
      if (ca !== undefined) {
        assert.ok(isWellFormed(ca));
        assert.equal(ca, canonicalText(ca));
        assert.equal(accept(ca), ca);
        // Canonically equivalent spellings of an accepted id name the same client.
        assert.equal(accept(a.normalize("NFD")), ca);
      }
      if (ca !== undefined && cb !== undefined) {
        // The storage key is the UTF-8 bytes: two different ids must never share them (the kick bug).
        assert.equal(ca === cb, Buffer.from(ca).equals(Buffer.from(cb)));
      }
    }),
    { numRuns: 2000 },
  );
});
