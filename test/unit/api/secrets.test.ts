import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { apiSchema } from "../../../services/api/config.js";
import { ApiKeys, readSecret } from "../../../services/api/secrets.js";
import { parseConfig } from "../../../shared/config/load-config.js";

const K1 = "k1-0123456789abcdef0123456789abcdef";
const K2 = "k2-0123456789abcdef0123456789abcdef";

test("API keys from a file, an environment variable or inline; each matched to its holder", () => {
  const dir = mkdtempSync(join(tmpdir(), "fc-keys-"));
  writeFileSync(join(dir, "k1"), `${K1}\n`);
  const keys = ApiKeys.load([{ name: "file", file: join(dir, "k1") }, { name: "env", env: "FC_TEST_KEY", requestsPerSec: 5 }], { FC_TEST_KEY: K2 });
  assert.equal(keys.match(K1)?.name, "file", "the trailing newline is not part of the key");
  assert.deepEqual(keys.match(K2), { name: "env", requestsPerSec: 5 });
  assert.equal(keys.match(`${K1}x`), null);
  assert.equal(keys.match(""), null);
});

test("an unusable secret stops the start with a reason (never the secret)", () => {
  assert.throws(() => readSecret({ env: "FC_NOT_SET" }, "keys \"x\"", {}), /FC_NOT_SET is not set/);
  assert.throws(() => readSecret({ file: "/nonexistent/key" }, "keys \"x\"", {}), /cannot read \/nonexistent\/key \(ENOENT\)/);
  assert.throws(() => readSecret({ env: "SHORT" }, "keys \"x\"", { SHORT: "tooshort" }), /at least 32 bytes/);
});

test("api conf: at least one key, exactly one source per key; no key in the shipped conf/api.json", () => {
  const base = { clusterSecret: "0123456789" };
  assert.throws(() => parseConfig("t", { ...base, keys: [] }, apiSchema), /at least one key/);
  assert.throws(() => parseConfig("t", { ...base, keys: [{ name: "a", file: "/x", env: "Y" }] }, apiSchema), /exactly one of value, file, env/);
  assert.throws(() => parseConfig("t", { ...base, keys: [{ name: "a", value: "short" }] }, apiSchema), /at least 32/);
  const cfg = parseConfig("t", { ...base, keys: [{ name: "a", env: "X" }] }, apiSchema);
  assert.equal(cfg.listen, "127.0.0.1:17090", "loopback by default");
  const shipped = parseConfig("conf/api.json", JSON.parse(readFileSyncUtf8("conf/api.json")), apiSchema);
  assert.ok(shipped.keys.every((k) => k.value === undefined && k.file !== undefined), "the shipped conf names a key file, holds no key");
});

function readFileSyncUtf8(rel: string): string {
  return readFileSync(join(import.meta.dirname, "../../../..", rel), "utf8");
}
