import test from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEV_CLUSTER_SECRET } from "../../shared/config/exposure.js";
import { openRedisBus } from "../../shared/bus/redis-bus.js";
import { redisSchema } from "../../shared/config/common.js";
import { captureLogger } from "../support/log-sink.js";
import type { AddressInfo } from "node:net";
import type { P2PMessage, TopicMessage } from "../../shared/client/client.js";
import type { Command } from "../../shared/protocol/commands.js";
import { startCluster, TEST_API_KEY, TEST_SLOW_API_KEY } from "../support/cluster.js";
import { apiClient, OpenApiChecker } from "../support/openapi.js";
import { sleep, waitFor } from "../support/ports.js";

const WEBHOOK_SECRET = "test-webhook-secret-0123456789abcdef-xyz";

interface Hook {
  headers: IncomingMessage["headers"];
  event: { id: string; type: string; ts: number; data: Record<string, unknown> };
  signatureOk: boolean;
}

/** A webhook receiver on a free port: answers 503 to the first `failFirst` deliveries, then 200. */
async function webhookReceiver(failFirst: number) {
  const got: Hook[] = [];
  let attempts = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      attempts++;
      if (attempts <= failFirst) {
        res.writeHead(503).end();
        return;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      const ts = String(req.headers["x-fishchat-timestamp"]);
      const want = Buffer.from(`sha256=${createHmac("sha256", WEBHOOK_SECRET).update(`${ts}.${body}`).digest("hex")}`);
      const sig = Buffer.from(String(req.headers["x-fishchat-signature"]));
      got.push({ headers: req.headers, event: JSON.parse(body) as Hook["event"], signatureOk: sig.length === want.length && timingSafeEqual(sig, want) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, attempts: () => attempts, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test("server API: keys, validation, sends, topics, presence, history, disconnect, webhook, rate limit", { timeout: 180_000 }, async (t) => {
  const hook = await webhookReceiver(2);
  t.after(() => hook.close());
  const cl = await startCluster(t, {
    msgServers: 2,
    api: true,
    conf: { api: { webhook: { url: hook.url, secret: { value: WEBHOOK_SECRET }, retryMinMs: 100, retryMaxMs: 400 } } },
  });
  const oas = new OpenApiChecker();
  const call = apiClient(cl.apiUrl, TEST_API_KEY, oas);
  const [ms0, ms1] = cl.msgServers as [(typeof cl.msgServers)[0], (typeof cl.msgServers)[0]];

  await t.test("no key or a wrong key: 401 IM_ERR_BAD_API_KEY; /healthz needs none", async () => {
    const none = await call("GET", "/v1/users/alice/presence", undefined, { key: null });
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, "IM_ERR_BAD_API_KEY");
    assert.match(String(none.headers.get("www-authenticate")), /^Bearer/);
    const wrong = await call("POST", "/v1/messages/p2p", { to: "bob", body: "x" }, { key: `${TEST_API_KEY}x` });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, "IM_ERR_BAD_API_KEY");
    const wrongMethod = await fetch(`${cl.apiUrl}/v1/messages/p2p`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
    assert.equal(wrongMethod.status, 405);
    assert.equal(((await wrongMethod.json()) as { error: { code: string } }).error.code, "IM_ERR_NOT_FOUND");
    assert.equal(wrongMethod.headers.get("allow"), "POST");
    const health = await call("GET", "/healthz", undefined, { key: null });
    assert.deepEqual(health.body, { ok: true, msgServers: 2 });
  });

  await t.test("bad input: 400 with a coded error naming the field, 413 for a huge body", async () => {
    const notJson = await call("POST", "/v1/messages/p2p", undefined, { raw: "{nope" });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, "IM_ERR_BAD_REQUEST");
    const missing = await call("POST", "/v1/messages/p2p", { body: "hi" });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, "IM_ERR_BAD_REQUEST");
    assert.deepEqual(missing.body.error.details.map((d: { path: string }) => d.path), ["body.to"]);
    const extra = await call("POST", "/v1/messages/p2p", { to: "bob", body: "hi", sender: "eve" });
    assert.equal(extra.body.error.code, "IM_ERR_BAD_REQUEST");
    const badId = await call("POST", "/v1/messages/p2p", { to: "has space", body: "hi" });
    assert.equal(badId.status, 400);
    assert.equal(badId.body.error.code, "IM_ERR_BAD_CLIENT_ID");
    const badTopic = await call("GET", "/v1/topics/no%20such!/messages");
    assert.equal(badTopic.body.error.code, "IM_ERR_BAD_TOPIC_NAME");
    const badLimit = await call("GET", "/v1/topics/abc/messages?limit=100000");
    assert.equal(badLimit.status, 400);
    assert.equal(badLimit.body.error.details[0].path, "query.limit");
    const tooLong = await call("POST", "/v1/messages/p2p", { to: "bob", body: "x".repeat(40_000) });
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.error.code, "IM_ERR_MSG_TOO_LARGE");
    const huge = await call("POST", "/v1/messages/p2p", { to: "bob", body: "x".repeat(300_000) });
    assert.equal(huge.status, 413);
    const wrongType = await call("POST", "/v1/messages/p2p", { to: "bob", body: "x" }, { contentType: "text/plain" });
    assert.equal(wrongType.body.error.code, "IM_ERR_BAD_REQUEST");
  });

  await t.test("p2p as $system and as a user, delivered live across servers; a retry with the same clientMessageId is the same message", async () => {
    const got: P2PMessage[] = [];
    const bob = await cl.client("bob", { via: ms1.addr, setup: (c) => c.on("p2p", (m: P2PMessage) => got.push(m)) });
    const first = await call("POST", "/v1/messages/p2p", { to: "bob", body: "welcome to FishChat", clientMessageId: "welcome-bob-1" });
    assert.equal(first.status, 200);
    assert.equal(first.body.duplicate, false);
    await waitFor("bob got the system message", () => got.length === 1);
    assert.equal(got[0]!.from, "$system");
    assert.equal(got[0]!.body, "welcome to FishChat");
    assert.equal(got[0]!.uuid, first.body.id);
    const retry = await call("POST", "/v1/messages/p2p", { to: "bob", body: "welcome to FishChat", clientMessageId: "welcome-bob-1" });
    assert.deepEqual(retry.body, { id: first.body.id, seq: first.body.seq, duplicate: true });
    const asAlice = await call("POST", "/v1/messages/p2p", { from: "alice", to: "bob", body: "hi bob, from the backend", clientMessageId: "a-1" });
    await waitFor("bob got alice's message", () => got.length === 2);
    assert.equal(got[1]!.from, "alice");
    assert.equal(got[1]!.uuid, asAlice.body.id);
    await sleep(300);
    assert.equal(got.length, 2, "the retry delivered nothing again");
    // Same dedup as a client's own send: alice's client retrying cmid a-1 gets the API's message.
    const alice = await cl.client("alice", { via: ms0.addr });
    const again = await alice.sendP2P("bob", "hi bob, from the backend", "a-1");
    assert.equal(again.uuid, asAlice.body.id);
    alice.close();
    bob.close();
  });

  await t.test("presence: online and where, then offline", async () => {
    const carl = await cl.client("carl", { via: ms0.addr });
    const on = await call("GET", "/v1/users/carl/presence");
    assert.deepEqual(on.body, { user: "carl", online: true, server: ms0.addr });
    carl.close();
    await waitFor("carl offline", async () => (await call("GET", "/v1/users/carl/presence")).body.online === false);
  });

  await t.test("topics: create, members, live delivery, owner and policy, history pages, user's topics, delete", async () => {
    const got: TopicMessage[] = [];
    const pushes: Command[] = [];
    const dora = await cl.client("dora", { via: ms1.addr, setup: (c) => {
      c.on("topic", (m: TopicMessage) => got.push(m));
      c.on("push", (p: Command) => pushes.push(p));
    } });
    const created = await call("POST", "/v1/topics", { name: "news", owner: "erin", policy: "private" });
    assert.equal(created.status, 201);
    assert.equal(created.body.owner, "erin");
    assert.equal(created.body.policy, "private");
    assert.equal((await call("POST", "/v1/topics", { name: "news", owner: "erin" })).status, 409);
    const added = await call("PUT", "/v1/topics/news/members/dora");
    assert.deepEqual(added.body, { topic: "news", user: "dora", member: true, changed: true });
    assert.equal((await call("PUT", "/v1/topics/news/members/dora")).body.changed, false);
    // dora was online when added: she receives at once, without logging in again.
    const s1 = await call("POST", "/v1/messages/topic", { topic: "news", body: "edition 1", clientMessageId: "ed-1" });
    await waitFor("dora got the topic message", () => got.length === 1);
    assert.equal(got[0]!.from, "$system");
    assert.equal(got[0]!.seq, s1.body.seq);
    const s1again = await call("POST", "/v1/messages/topic", { topic: "news", body: "edition 1", clientMessageId: "ed-1" });
    assert.deepEqual(s1again.body, { ...s1.body, duplicate: true });
    const notMember = await call("POST", "/v1/messages/topic", { topic: "news", from: "zed", body: "let me in" });
    assert.equal(notMember.status, 409);
    assert.equal(notMember.body.error.code, "IM_ERR_NOT_MEMBER");
    await call("POST", "/v1/messages/topic", { topic: "news", from: "dora", body: "thanks" });
    for (let i = 2; i <= 4; i++) await call("POST", "/v1/messages/topic", { topic: "news", body: `edition ${i}` });
    const p1 = await call("GET", "/v1/topics/news/messages?limit=3");
    assert.deepEqual(p1.body.messages.map((m: { body: string }) => m.body), ["edition 1", "thanks", "edition 2"]);
    const p2 = await call("GET", `/v1/topics/news/messages?after=${p1.body.last}&limit=3`);
    assert.deepEqual(p2.body.messages.map((m: { body: string }) => m.body), ["edition 3", "edition 4"]);
    assert.equal((await call("GET", "/v1/topics/news")).body.memberCount, 2);
    const changed = await call("PATCH", "/v1/topics/news", { owner: "dora", policy: "public" });
    assert.equal(changed.body.owner, "dora");
    assert.equal(changed.body.policy, "public");
    assert.equal((await call("PATCH", "/v1/topics/news", {})).status, 400);
    assert.deepEqual((await call("GET", "/v1/users/dora/topics")).body, { user: "dora", topics: ["news"] });
    // Listing: every topic (a private one too) and its members, a page at a time.
    for (const name of ["alpha", "beta"]) assert.equal((await call("POST", "/v1/topics", { name, owner: "erin", policy: "private" })).status, 201);
    const t1 = await call("GET", "/v1/topics?limit=2");
    assert.deepEqual(t1.body.topics.map((x: { name: string }) => x.name), ["alpha", "beta"]);
    assert.equal(t1.body.topics[0].policy, "private");
    assert.equal(t1.body.next, "beta");
    const t2 = await call("GET", `/v1/topics?after=${t1.body.next}&limit=2`);
    assert.deepEqual(t2.body, { topics: [{ name: "news", owner: "dora", policy: "public", memberCount: 2, createdAt: created.body.createdAt }], next: null });
    const m1 = await call("GET", "/v1/topics/news/members?limit=1");
    assert.deepEqual(m1.body, { topic: "news", members: ["dora"], next: "dora" });
    assert.deepEqual((await call("GET", "/v1/topics/news/members?after=dora")).body, { topic: "news", members: ["erin"], next: null });
    assert.equal((await call("GET", "/v1/topics/nope/members")).status, 404);
    const badPage = await call("GET", "/v1/topics?limit=0");
    assert.equal(badPage.status, 400);
    assert.equal(badPage.body.error.code, "IM_ERR_BAD_REQUEST");
    for (const name of ["alpha", "beta"]) await call("DELETE", `/v1/topics/${name}`);
    assert.equal((await call("DELETE", "/v1/topics/news/members/dora")).status, 403, "the owner cannot be removed");
    const removed = await call("DELETE", "/v1/topics/news/members/erin");
    assert.equal(removed.body.changed, true);
    const gone = await call("DELETE", "/v1/topics/news");
    assert.deepEqual(gone.body, { name: "news", deleted: true, members: 1 });
    await waitFor("dora told the topic is gone", () => pushes.some((p) => p.name === "TOPIC_REMOVED"));
    assert.equal((await call("GET", "/v1/topics/news")).status, 404);
    assert.equal((await call("GET", "/v1/topics/news/messages")).body.error.code, "IM_ERR_NO_SUCH_TOPIC");
    dora.close();
  });

  await t.test("p2p history pages of a conversation", async () => {
    for (let i = 1; i <= 3; i++) await call("POST", "/v1/messages/p2p", { from: "gus", to: "hal", body: `m${i}` });
    const page = await call("GET", "/v1/conversations/p2p/hal/gus/messages?limit=2");
    assert.deepEqual(page.body.messages.map((m: { body: string; from: string }) => [m.from, m.body]), [["gus", "m1"], ["gus", "m2"]]);
    const next = await call("GET", `/v1/conversations/p2p/gus/hal/messages?after=${page.body.last}`);
    assert.deepEqual(next.body.messages.map((m: { body: string }) => m.body), ["m3"]);
    // Any text survives the trip through the line protocol: newlines, quotes, backslashes, non-ASCII.
    const odd = 'two\nlines "quoted" \\ back\tslash é 🐟';
    await call("POST", "/v1/messages/p2p", { from: "gus", to: "hal", body: odd });
    const last = await call("GET", `/v1/conversations/p2p/gus/hal/messages?after=${next.body.last}`);
    assert.deepEqual(last.body.messages.map((m: { body: string }) => m.body), [odd]);
  });

  await t.test("disconnect: sessions closed with IM_ERR_TOKEN_REVOKED, the old token refused", async () => {
    const token = await cl.token("ivy");
    const pushes: Command[] = [];
    const ivy = await cl.client("ivy", { via: ms0.addr, token, setup: (c) => c.on("push", (p: Command) => pushes.push(p)) });
    const r = await call("POST", "/v1/users/ivy/disconnect");
    assert.equal(r.body.wasOnline, true);
    await waitFor("ivy's session closed", () => ivy.closed, 5000);
    assert.ok(pushes.some((p) => p.name === "ERR" && p.args[0] === "IM_ERR_TOKEN_REVOKED"));
    await assert.rejects(cl.client("ivy", { via: ms1.addr, token }), (err: { code?: string }) => err.code === "IM_ERR_AUTH_FAILED");
  });

  await t.test("webhook: logins, logouts and messages to offline users, signed, retried after failures", async () => {
    await call("POST", "/v1/messages/p2p", { from: "jo", to: "kim-offline", body: "are you there?" });
    await waitFor("offline-message event", () => hook.got.find((h) => h.event.type === "message.offline" && h.event.data.to === "kim-offline"), 15_000);
    const off = hook.got.find((h) => h.event.type === "message.offline" && h.event.data.to === "kim-offline")!;
    assert.deepEqual({ from: off.event.data.from, body: off.event.data.body }, { from: "jo", body: "are you there?" });
    assert.ok(hook.attempts() > hook.got.length, "the first deliveries failed (503) and were retried");
    const logins = hook.got.filter((h) => h.event.type === "login").map((h) => h.event.data.user);
    const logouts = hook.got.filter((h) => h.event.type === "logout").map((h) => h.event.data.user);
    for (const u of ["bob", "carl", "dora", "ivy"]) {
      assert.ok(logins.includes(u), `login of ${u}`);
      assert.ok(logouts.includes(u), `logout of ${u}`);
    }
    // bob was online when the system message reached him: no push for it.
    assert.ok(!hook.got.some((h) => h.event.type === "message.offline" && h.event.data.to === "bob"));
    for (const h of hook.got) {
      assert.ok(h.signatureOk, `signature of ${h.event.type}`);
      assert.equal(h.headers["x-fishchat-event"], h.event.type);
      assert.equal(h.headers["x-fishchat-delivery"], h.event.id);
    }
    for (const h of hook.got) oas.ajvCheckWebhook(h.event);
  });

  await t.test("rate limit: over its requestsPerSec (20) a key gets 429 with Retry-After; other keys are not affected", async () => {
    const results = await Promise.all(Array.from({ length: 40 }, () => call("GET", "/v1/users/bob/presence", undefined, { key: TEST_SLOW_API_KEY })));
    const limited = results.filter((r) => r.status === 429);
    assert.ok(limited.length >= 15, `${limited.length} of 40 refused`);
    assert.equal(limited[0]!.body.error.code, "IM_ERR_RATE_LIMITED");
    assert.ok(Number(limited[0]!.headers.get("retry-after")) >= 1);
    assert.equal((await call("GET", "/v1/users/bob/presence")).status, 200, "the other key still passes");
    await sleep(1100);
    assert.equal((await call("GET", "/v1/users/bob/presence", undefined, { key: TEST_SLOW_API_KEY })).status, 200, "allowed again after the window");
  });

  await t.test("many bad keys from one address: 429 before the key is compared", async () => {
    let last = 0;
    for (let i = 0; i < 32; i++) last = (await call("GET", "/v1/users/bob/presence", undefined, { key: `guess-${i}` })).status;
    assert.equal(last, 429);
  });

  await t.test("in the registry as role api, with its stats (the monitor's dashboard shows it)", async () => {
    const bus = openRedisBus({ ...redisSchema.parse({ port: cl.redis.port }) }, captureLogger("silent").log, { name: "test" });
    t.after(() => bus.close());
    const entry = await waitFor("the api's heartbeat", async () => (await bus.registry.list("api")).find((e) => e.alive && (e.info.stats?.requests ?? 0) > 0));
    assert.equal(entry.info.addr, cl.apiUrl.replace("http://", ""));
    assert.equal(entry.info.stats?.linksUp, 2);
    assert.ok((entry.info.stats?.sent ?? 0) >= 5 && (entry.info.stats?.badKeys ?? 0) >= 2 && (entry.info.stats?.rateLimited ?? 0) >= 1);
    assert.ok((entry.info.stats?.webhookDelivered ?? 0) > 0);
  });

  await t.test("every operation of the OpenAPI document was answered with its documented success status", () => {
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(oas.doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const success = Object.keys(op.responses).filter((s) => s.startsWith("2"));
        if (!success.some((s) => oas.seen.has(`${method.toUpperCase()} ${path} ${s}`))) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});

test("server API refuses to start: exposed with the development cluster secret, or without its key file (exit 2, one line each)", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "fc-api-conf-"));
  const run = (conf: object) => {
    const file = join(dir, `api-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(conf));
    return spawnSync(process.execPath, [join(import.meta.dirname, "../../services/api/main.js"), `-conf_file=${file}`], { encoding: "utf8", timeout: 30_000 });
  };
  const base = { clusterSecret: DEV_CLUSTER_SECRET, redis: { host: "127.0.0.1", port: 1 }, keys: [{ name: "k", value: TEST_API_KEY }] };
  const exposed = run({ ...base, listen: "0.0.0.0:0" });
  assert.equal(exposed.status, 2);
  assert.match(exposed.stderr, /api: IM_ERR_CONFIG refusing to start: listen 0\.0\.0\.0:0 is reachable beyond this machine, but clusterSecret is the development value/);
  const noKey = run({ ...base, listen: "127.0.0.1:0", keys: [{ name: "k", file: join(dir, "missing.key") }] });
  assert.equal(noKey.status, 2);
  assert.match(noKey.stderr, /api: IM_ERR_CONFIG keys "k": cannot read .*missing\.key \(ENOENT\)/);
  assert.ok(!noKey.stderr.includes(TEST_API_KEY) && !exposed.stderr.includes(TEST_API_KEY), "no key in the output");
});
