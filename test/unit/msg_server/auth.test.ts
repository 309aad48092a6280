/**
 * Client identity in the msg_server core: tokens at login, the attacks of issue 10 (wrong key,
 * another user's sub, expired, alg none, tampered payload, revoked), expiry and refresh,
 * revocation of live sessions, failed attempts per address, send rate limits.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import test from "node:test";
import { mintToken } from "../../../shared/auth/mint.js";
import { Cmd } from "../../../shared/protocol/commands.js";
import { encodePacket } from "../../../shared/protocol/packet-codec.js";
import { CORE_CLIENT_AUTH, CORE_TOKEN_KEY, startCore } from "../../support/core.js";
import { parseConfig } from "../../../shared/config/load-config.js";
import { clientAuthSchema } from "../../../shared/auth/config.js";

const codeOf = (c: { name: string; args: string[] }) => (c.name === Cmd.ERR ? c.args[0] : c.name);
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** An HS256 JWT signed by hand, for tokens the minting code would never make. */
function handmade(header: object, payload: object, secret: string): string {
  const head = `${b64(header)}.${b64(payload)}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

test("every bad token is IM_ERR_AUTH_FAILED with the same message, closes, and leaves the real session alone", async (t) => {
  const h = await startCore(t, { conf: { limits: { failedAuthPerAddress: 1000, loginAttemptsPerAddress: 100_000, maxConnectionsPerAddress: 100_000 } } });
  const real = await h.login("alice");
  const now = Math.floor(Date.now() / 1000);
  const otherKey = parseConfig("t", { keys: [{ kid: "unit", alg: "HS256", secret: "another-secret-another-secret-0123456" }] }, clientAuthSchema);
  const good = await h.token("alice");
  const [head, payload, sig] = good.split(".") as [string, string, string];
  const tampered = `${head}.${b64({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: "mallory" })}.${sig}`;
  const cases: [string, string | undefined][] = [
    ["no token", undefined],
    ["garbage", "not-a-jwt"],
    ["signed with another key", await mintToken(otherKey, { sub: "alice", ttlSec: 60 })],
    ["another user's token", await h.token("mallory")],
    ["expired", handmade({ alg: "HS256", kid: "unit" }, { sub: "alice", exp: now - 3600, iat: now - 7200 }, CORE_TOKEN_KEY.secret)],
    ["no exp", handmade({ alg: "HS256", kid: "unit" }, { sub: "alice", iat: now }, CORE_TOKEN_KEY.secret)],
    ["not yet valid", handmade({ alg: "HS256", kid: "unit" }, { sub: "alice", exp: now + 7200, nbf: now + 3600 }, CORE_TOKEN_KEY.secret)],
    ["alg none", `${b64({ alg: "none", kid: "unit" })}.${b64({ sub: "alice", exp: now + 60 })}.`],
    ["tampered payload", tampered],
    ["unknown kid", handmade({ alg: "HS256", kid: "nope" }, { sub: "alice", exp: now + 60 }, CORE_TOKEN_KEY.secret)],
  ];
  for (const [what, tok] of cases) {
    const p = h.connect();
    const r = await p.request(tok === undefined ? "SEND_CLIENT_ID alice" : `SEND_CLIENT_ID alice ${tok}`);
    assert.deepEqual(r.args, ["IM_ERR_AUTH_FAILED", "authentication failed"], what);
    await p.until(`${what}: closed`, () => p.closed);
  }
  assert.equal(h.core.sessions.get("alice")?.conn.closed, false, "the real alice is still connected");
  assert.equal(codeOf(await real.request("SEND_PING PING")), Cmd.OK);
  const reasons = h.logs.lines().filter((l) => l.msg === "login refused").map((l) => l.reason);
  assert.equal(reasons.length, cases.length, "each reason is logged");
  assert.ok(reasons.includes("sub_mismatch") && reasons.includes("expired") && reasons.includes("bad_signature"), String(reasons));
  for (const [, tok] of cases) if (tok && tok.length > 20) assert.ok(!h.logs.text().includes(tok), "no token reaches the log");
});

test("commands pipelined right behind a login wait for it instead of finding the connection logged out", async (t) => {
  const h = await startCore(t);
  const p = h.connect();
  const login = p.request(`SEND_CLIENT_ID alice ${await h.token("alice")}`);
  const send = p.request("SEND_MESSAGE_P2P bob hi");
  const create = p.request("CREATE_TOPIC piped");
  assert.deepEqual([codeOf(await login), codeOf(await send), codeOf(await create)], [Cmd.OK, Cmd.OK, Cmd.OK]);
  const q = h.connect();
  const bad = q.request("SEND_CLIENT_ID alice wrong-token");
  const after = q.request("SEND_MESSAGE_P2P bob hi");
  assert.equal(codeOf(await bad), "IM_ERR_AUTH_FAILED");
  assert.equal(codeOf(await after), "IM_ERR_NOT_LOGGED_IN", "nothing runs as alice after a failed login");
});

test("a v1 packet frame may carry the token as the second argument", async (t) => {
  const h = await startCore(t);
  const v1 = h.connect({ packet: true });
  v1.write(encodePacket({ name: Cmd.SEND_CLIENT_ID, args: ["bob", await h.token("bob")] }));
  await v1.until("logged in", () => h.core.sessions.get("bob") !== undefined);
});

test("failed logins per address are limited: past the bound even a good token is refused", async (t) => {
  const h = await startCore(t, { conf: { limits: { failedAuthPerAddress: 3, loginAttemptsPerAddress: 100_000, maxConnectionsPerAddress: 100_000 } } });
  for (let i = 0; i < 3; i++) {
    const p = h.connect();
    assert.equal(codeOf(await p.request("SEND_CLIENT_ID alice bad")), "IM_ERR_AUTH_FAILED");
  }
  const p = h.connect();
  assert.equal(codeOf(await p.request(`SEND_CLIENT_ID alice ${await h.token("alice")}`)), "IM_ERR_AUTH_FAILED");
  assert.equal(h.core.sessions.get("alice"), undefined);
});

test("logins per address are rate limited with a retry time", async (t) => {
  const h = await startCore(t, { conf: { limits: { loginAttemptsPerAddress: 2, maxConnectionsPerAddress: 100_000 } } });
  await h.login("a1");
  await h.login("a2");
  const p = h.connect();
  const r = await p.request(`SEND_CLIENT_ID a3 ${await h.token("a3")}`);
  assert.equal(codeOf(r), "IM_ERR_RATE_LIMITED");
  assert.ok(Number(r.args[2]) > 0, `retry after ${r.args[2]} ms`);
  assert.equal(p.closed, false, "a rate-limited login may retry on the same connection");
});

test("connections per address are bounded", async (t) => {
  const h = await startCore(t, { conf: { limits: { maxConnectionsPerAddress: 2, loginAttemptsPerAddress: 1000 } } });
  const a = h.connect();
  const b = h.connect();
  const c = h.connect();
  await c.until("refused", () => c.closed);
  assert.match(c.received.map((x) => x.args[0]).join(), /IM_ERR_TOO_MANY_CONNECTIONS/);
  assert.equal(codeOf(await a.request("SEND_PING PING")), Cmd.OK);
  b.close();
  await new Promise((r) => setTimeout(r, 20));
  const d = h.connect();
  assert.equal(codeOf(await d.request("SEND_PING PING")), Cmd.OK, "a closed connection frees its slot");
});

test("TOKEN_EXPIRING before the end, REFRESH_TOKEN extends, and an expired session is closed", async (t) => {
  const h = await startCore(t, { conf: { clientAuth: { ...CORE_CLIENT_AUTH, clockSkewSec: 0, expiringNoticeSec: 60 } } });
  const p = h.connect();
  assert.equal(codeOf(await p.request(`SEND_CLIENT_ID alice ${await h.token("alice", 30)}`)), Cmd.OK);
  const s = h.core.sessions.get("alice")!;
  h.core.checkTokens(Date.now());
  await p.until("notice", () => p.pushesNamed(Cmd.TOKEN_EXPIRING).length === 1);
  h.core.checkTokens(Date.now());
  assert.equal(p.pushesNamed(Cmd.TOKEN_EXPIRING).length, 1, "once per token");
  assert.equal(codeOf(await p.request(`REFRESH_TOKEN ${await h.token("bob", 3600)}`)), "IM_ERR_AUTH_FAILED", "a refresh must be for the same id");
  await p.until("closed after a bad refresh", () => p.closed);

  const q = h.connect();
  await q.request(`SEND_CLIENT_ID carol ${await h.token("carol", 30)}`);
  const r = await q.request(`REFRESH_TOKEN ${await h.token("carol", 3600)}`);
  assert.equal(codeOf(r), Cmd.OK);
  const carol = h.core.sessions.get("carol")!;
  assert.ok(carol.token!.exp > Date.now() / 1000 + 3000);
  h.core.checkTokens(Date.now() + 100_000);
  assert.equal(q.closed, false, "refreshed: still valid in 100 s");
  h.core.checkTokens(Date.now() + 4000_000);
  await q.until("expired", () => q.closed);
  assert.equal(q.received.at(-1)?.args[0], "IM_ERR_TOKEN_EXPIRED");
  assert.ok(s.ended && carol.ended);
});

test("revocation: a revoked token id and a revoked user close live sessions and refuse the next login", async (t) => {
  const h = await startCore(t);
  const tok = await h.token("alice");
  const jti = JSON.parse(Buffer.from(tok.split(".")[1]!, "base64url").toString()).jti as string;
  const alice = h.connect();
  await alice.request(`SEND_CLIENT_ID alice ${tok}`);
  const bob = await h.login("bob");
  const now = Date.now();
  await h.bus.revocations.revoke({ kind: "token", key: jti, atMs: now, untilMs: now + 60_000 });
  await alice.until("closed", () => alice.closed, 1000);
  assert.equal(alice.received.at(-1)?.args[0], "IM_ERR_TOKEN_REVOKED");
  assert.equal(codeOf(await h.connect().request(`SEND_CLIENT_ID alice ${tok}`)), "IM_ERR_AUTH_FAILED", "that token is dead");
  assert.equal(codeOf(await (await h.login("alice")).request("SEND_PING PING")), Cmd.OK, "a new token works");

  await h.bus.revocations.revoke({ kind: "user", key: "bob", atMs: Date.now() + 1000, untilMs: Date.now() + 60_000 });
  await bob.until("bob closed", () => bob.closed, 1000);
  assert.equal(codeOf(await h.connect().request(`SEND_CLIENT_ID bob ${await h.token("bob")}`)), "IM_ERR_AUTH_FAILED", "tokens issued before the revocation are refused");
});

test("send rate: over the bucket a line client gets IM_ERR_RATE_LIMITED with a wait, and nothing is stored", async (t) => {
  const h = await startCore(t, { conf: { limits: { sendMessagesPerSec: 5, sendBurstMessages: 3, loginAttemptsPerAddress: 1000, maxConnectionsPerAddress: 1000 } } });
  const alice = await h.login("alice");
  const replies = [];
  for (let i = 0; i < 5; i++) replies.push(await alice.request(`SEND_MESSAGE_P2P bob m${i}`));
  assert.deepEqual(replies.map(codeOf), [Cmd.OK, Cmd.OK, Cmd.OK, "IM_ERR_RATE_LIMITED", "IM_ERR_RATE_LIMITED"]);
  const wait = Number(replies[3]!.args[2]);
  assert.ok(wait > 0 && wait <= 200, `retry after ${wait} ms`);
  assert.equal(await h.store.inboxPending("bob"), 3);
  await new Promise((r) => setTimeout(r, wait + 10));
  assert.equal(codeOf(await alice.request("SEND_MESSAGE_P2P bob later")), Cmd.OK);
  const other = await h.login("carol");
  assert.equal(codeOf(await other.request("SEND_MESSAGE_P2P bob hi")), Cmd.OK, "the limit is per user");
  for (let i = 0; i < 3; i++) await alice.request(`SEND_MESSAGE_P2P bob drain${i}`);
  alice.close();
  const again = await h.login("alice");
  assert.equal(codeOf(await again.request("SEND_MESSAGE_P2P bob again")), "IM_ERR_RATE_LIMITED", "logging in again does not refill the bucket");
});

test("mode none: no token needed, and the process said so", async (t) => {
  const h = await startCore(t, { conf: { clientAuth: { mode: "none" } } });
  const p = h.connect();
  assert.equal(codeOf(await p.request("SEND_CLIENT_ID alice")), Cmd.OK);
  assert.ok(h.logs.lines().some((l) => l.level === 40 && String(l.msg).includes("none")));
});
