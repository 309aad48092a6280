import test from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { normalizeGoFlags } from "../../../shared/cli.js";
import { parseConfig } from "../../../shared/config/load-config.js";
import { splitHostPort } from "../../../shared/config/common.js";
import { checkClientId, checkTopicName, checkUint } from "../../../shared/validate.js";
import { Backoff } from "../../../shared/net/backoff.js";

test("Go-style flags become commander flags", () => {
  assert.deepEqual(normalizeGoFlags(["node", "x", "-conf_file=a.json"]), ["node", "x", "--conf_file=a.json"]);
  assert.deepEqual(normalizeGoFlags(["-conf_file", "a.json"]), ["--conf_file", "a.json"]);
  assert.deepEqual(normalizeGoFlags(["--conf_file", "a.json", "-v", "-h"]), ["--conf_file", "a.json", "-v", "-h"]);
});

test("config: defaults, frozen result, errors name the key", () => {
  const schema = z.strictObject({ a: z.number().default(1), nested: z.strictObject({ b: z.string().default("x") }).prefault({}) });
  const cfg = parseConfig("f.json", {}, schema);
  assert.deepEqual(cfg, { a: 1, nested: { b: "x" } });
  assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.nested));
  assert.throws(() => parseConfig("f.json", { nested: { c: 1 } }, schema), /f\.json: unknown key "nested\.c"/);
  assert.throws(() => parseConfig("f.json", { a: "1" }, schema), (e: Error & { code?: string }) => e.code === "IM_ERR_CONFIG" && /key "a"/.test(e.message));
  // This schema has no advertiseAddr: the v1 hint must not send people there (test/unit/shared/load-config.test.ts).
  assert.throws(() => parseConfig("f.json", { LocalIP: "x" }, schema), /FishChatServer v1 key; this file has no such setting/);
});

test("host:port parsing", () => {
  assert.deepEqual(splitHostPort("127.0.0.1:19000"), { host: "127.0.0.1", port: 19000 });
  assert.deepEqual(splitHostPort("[::1]:80"), { host: "::1", port: 80 });
});

test("ids, topic names and numbers are validated with coded errors", () => {
  for (const ok of ["alice", "a.b@c:d", "用户1", "x".repeat(128)]) assert.equal(checkClientId(ok), ok);
  for (const bad of ["", "a b", 'a"b', "a\\b", "a\u0001", "$system", "x".repeat(129)]) {
    assert.throws(() => checkClientId(bad), (e: Error & { code?: string }) => e.code === "IM_ERR_BAD_CLIENT_ID", bad);
  }
  assert.equal(checkTopicName("go-lang_1.x"), "go-lang_1.x");
  for (const bad of ["", "a b", "p2p:x", "x".repeat(65)]) assert.throws(() => checkTopicName(bad), (e: Error & { code?: string }) => e.code === "IM_ERR_BAD_TOPIC_NAME");
  assert.equal(checkUint("42", "n"), 42);
  for (const bad of ["-1", "1.5", "abc", "99999999999999999"]) assert.throws(() => checkUint(bad, "n"), (e: Error & { code?: string }) => e.code === "IM_ERR_BAD_ARGS");
});

test("backoff grows, stays under its cap, and resets", () => {
  const b = new Backoff(100, 1000, () => 1);
  const seq = Array.from({ length: 8 }, () => b.next());
  assert.deepEqual(seq, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  b.reset();
  assert.equal(b.next(), 100);
  const jittered = new Backoff(100, 1000, () => 0);
  assert.equal(jittered.next(), 50, "full jitter goes down to half the minimum");
});
