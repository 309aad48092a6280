import test from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { DEV_KEY_FILE, ensureDevKey } from "../../../shared/auth/dev-key.js";
import { parseTtl } from "../../../shared/auth/mint.js";
import { TokenVerifier } from "../../../shared/auth/token-verifier.js";
import { authConfig, keyDir, pairs, pem } from "./fixtures.js";

const ROOT = resolve(import.meta.dirname, "../../../..");
const run = promisify(execFile);

/** Runs bin/token.js as users do; resolves with exit code and output instead of throwing. */
async function token(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(ROOT, "bin/token.js"), ...args], { cwd, timeout: 20_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test("ensureDevKey creates a 0600 random key once and then keeps it", (t) => {
  const d = keyDir(t);
  const dataDir = join(d.dir, "data");
  const first = ensureDevKey(dataDir);
  assert.deepEqual(first, { path: join(dataDir, DEV_KEY_FILE), created: true });
  assert.equal(statSync(first.path).mode & 0o777, 0o600);
  const key = readFileSync(first.path, "utf8");
  assert.match(key, /^[A-Za-z0-9_-]{64}\n$/);
  assert.deepEqual(ensureDevKey(dataDir), { path: first.path, created: false });
  assert.equal(readFileSync(first.path, "utf8"), key, "an existing key is never replaced");
  const other = ensureDevKey(join(d.dir, "data2"));
  assert.notEqual(readFileSync(other.path, "utf8"), key, "every checkout gets its own key");
});

test("token: --init-dev-key, then -conf_file= --sub --ttl prints one token the conf's verifier accepts", async (t) => {
  const d = keyDir(t);
  const init = await token(["--init-dev-key", join(d.dir, "data")]);
  assert.equal(init.code, 0, init.stderr);
  assert.equal(init.stdout, `${join(d.dir, "data", DEV_KEY_FILE)}\n`);
  assert.match(init.stderr, /created/);
  assert.match((await token(["--init-dev-key", join(d.dir, "data")])).stderr, /kept the existing/);

  // A msg_server-like conf: other keys are not the token binary's business.
  const conf = {
    listen: "127.0.0.1:19000",
    clusterSecret: "x".repeat(40),
    clientAuth: { mode: "token", keys: [{ kid: "dev", alg: "HS256", secretFile: "./data/dev-token.key" }] },
  };
  writeFileSync(join(d.dir, "ms.json"), JSON.stringify(conf));
  const r = await token(["-conf_file=ms.json", "--sub", "alice", "--ttl", "2h"], d.dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, "one token and a newline");
  const v = await TokenVerifier.create(authConfig({ keys: [{ kid: "dev", alg: "HS256", secretFile: join(d.dir, "data", DEV_KEY_FILE) }] }));
  const claims = await v.verify("alice", r.stdout.trim());
  assert.ok(Math.abs(claims.exp - (Math.floor(Date.now() / 1000) + 7200)) <= 5);
  // Go-style flags with a separate value work too.
  assert.equal((await token(["-conf_file", "ms.json", "-sub", "bob"], d.dir)).code, 0);
});

test("token: ES256 with a private key file; the verifier side needs only the public key", async (t) => {
  const d = keyDir(t);
  const { ec } = pairs();
  const conf = d.write("c.json", JSON.stringify({ clientAuth: { keys: [{ kid: "es1", alg: "ES256", privateKeyFile: d.write("es.pem", pem.priv(ec.privateKey)) }] } }));
  const r = await token([`-conf_file=${conf}`, "--sub", "carol", "--kid", "es1"]);
  assert.equal(r.code, 0, r.stderr);
  const v = await TokenVerifier.create(authConfig({ keys: [{ kid: "es1", alg: "ES256", publicKeyFile: d.write("es.pub", pem.pub(ec.publicKey)) }] }));
  assert.equal((await v.verify("carol", r.stdout.trim())).kid, "es1");
});

test("token: clear errors and exit 2 for a missing key file, a missing section, bad flags", async (t) => {
  const d = keyDir(t);
  const missingKey = d.write("a.json", JSON.stringify({ clientAuth: { keys: [{ kid: "dev", alg: "HS256", secretFile: "./nope/dev-token.key" }] } }));
  const r1 = await token([`-conf_file=${missingKey}`, "--sub", "alice"]);
  assert.equal(r1.code, 2);
  assert.equal(r1.stdout, "");
  assert.match(r1.stderr, /^token: IM_ERR_CONFIG .*dev-token\.key.*ENOENT.*npm start.*--init-dev-key/);

  const noSection = d.write("b.json", JSON.stringify({ listen: "127.0.0.1:1" }));
  assert.match((await token([`-conf_file=${noSection}`, "--sub", "alice"])).stderr, /no "clientAuth" section/);
  const r3 = await token([`-conf_file=${missingKey}`, "--sub", "al ice"]);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /IM_ERR_BAD_CLIENT_ID/);
  assert.match((await token([`-conf_file=${missingKey}`, "--sub", "a", "--ttl", "soon"])).stderr, /--ttl "soon" is not a duration/);
  assert.match((await token([`-conf_file=${missingKey}`])).stderr, /--sub <clientId> is required/);
  assert.equal((await token(["-conf_file=/nonexistent.json", "--sub", "a"])).code, 2);
});

test("ttl durations", () => {
  assert.deepEqual(["90", "90s", "15m", "1h", "7d"].map(parseTtl), [90, 90, 900, 3600, 604_800]);
  for (const bad of ["0", "0h", "1.5h", "-1", "1w", "", "h"]) assert.equal(parseTtl(bad), undefined, bad);
});
