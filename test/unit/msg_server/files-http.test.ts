/**
 * The HTTP file endpoints with real uploads over real sockets: an in-process core with its ws
 * listener and the files handler mounted as main.ts does (test/support/ws-core.ts), LMDB in a
 * temp dir. Test images are made with sharp here.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import test from "node:test";
import sharp from "sharp";
import { Cmd } from "../../../shared/protocol/commands.js";
import { p2pConversation } from "../../../shared/protocol/conversation.js";
import { startWsCore, type WsCoreHarness } from "../../support/ws-core.js";
import { TEST_ORIGIN } from "../../support/ws-client.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP request; `chunks` are written one per event-loop turn, and writing stops once the answer starts. */
function http(url: string, o: { method?: string; headers?: Record<string, string>; chunks?: Buffer[]; hold?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? "GET", headers: o.headers }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on("error", reject);
    });
    let answered = false;
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    if (o.hold) req.setTimeout(5000, () => req.destroy());
    const chunks = [...(o.chunks ?? [])];
    const next = () => {
      if (answered || req.destroyed) return;
      const c = chunks.shift();
      if (c === undefined) {
        // hold: headers only, the body never comes (the server must answer without it).
        if (o.hold) req.flushHeaders();
        else req.end();
      }
      else req.write(c, () => setImmediate(next));
    };
    next();
  });
}

const json = (a: Answer) => JSON.parse(a.body.toString()) as Record<string, unknown>;
const codeOf = (a: Answer) => (json(a).error as { code: string } | undefined)?.code;

async function files(t: test.TestContext, conf: Record<string, unknown> = {}): Promise<WsCoreHarness & { base: string; auth(id: string): Promise<Record<string, string>> }> {
  const h = await startWsCore(t, { files: true, conf });
  const base = h.core.filesUrl!;
  return { ...h, base, auth: async (id) => ({ Authorization: `Bearer ${await h.token(id)}` }) };
}

async function upload(h: { base: string; auth(id: string): Promise<Record<string, string>> }, who: string, conv: string, bytes: Buffer, name = "f.bin", headers: Record<string, string> = {}): Promise<Answer> {
  return http(`${h.base}?conv=${encodeURIComponent(conv)}&name=${encodeURIComponent(name)}`, { method: "POST", headers: { ...(await h.auth(who)), ...headers }, chunks: [bytes] });
}

test("a PNG round-trips byte-identical, with its detected type and a thumbnail", async (t) => {
  const h = await files(t);
  const png = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toBuffer();
  const up = await upload(h, "alice", "p2p:bob", png, "photo.png", { "Content-Type": "application/octet-stream" });
  assert.equal(up.status, 201, up.body.toString());
  const info = json(up) as { id: string; name: string; mime: string; size: number; thumbnailId: string | null };
  assert.deepEqual({ name: info.name, mime: info.mime, size: info.size }, { name: "photo.png", mime: "image/png", size: png.length });
  assert.ok(info.thumbnailId);
  const got = await http(`${h.base}/${info.id}`, { headers: await h.auth("bob") });
  assert.equal(got.status, 200);
  assert.ok(got.body.equals(png), "byte-identical");
  assert.equal(got.headers["content-type"], "image/png");
  assert.equal(got.headers["x-content-type-options"], "nosniff");
  assert.equal(got.headers["content-disposition"], `inline; filename="photo.png"; filename*=UTF-8''photo.png`);
  assert.equal(got.headers["accept-ranges"], "bytes");
  const thumb = await http(`${h.base}/${info.thumbnailId}`, { headers: await h.auth("alice") });
  assert.equal(thumb.status, 200);
  assert.equal(thumb.headers["content-type"], "image/webp");
  const meta = await sharp(thumb.body).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ["webp", 320, 240]);
  assert.equal((await h.store.attachmentInfo(info.id))?.thumbnailId, info.thumbnailId, "stored with thumbnailOf");
});

test("ranges: first byte, middle, last byte, suffix, clamped end, beyond the end is 416", async (t) => {
  const h = await files(t);
  const data = Buffer.alloc(1000, 0);
  for (let i = 0; i < data.length; i++) data[i] = i % 251;
  const id = (json(await upload(h, "alice", "p2p:bob", data)) as { id: string }).id;
  const get = async (range: string) => http(`${h.base}/${id}`, { headers: { ...(await h.auth("bob")), Range: range } });
  const cases: [string, number, number][] = [
    ["bytes=0-0", 0, 0],
    ["bytes=400-499", 400, 499],
    ["bytes=999-999", 999, 999],
    ["bytes=-1", 999, 999],
    ["bytes=990-5000", 990, 999],
    ["bytes=500-", 500, 999],
  ];
  for (const [range, start, end] of cases) {
    const r = await get(range);
    assert.equal(r.status, 206, range);
    assert.equal(r.headers["content-range"], `bytes ${start}-${end}/1000`, range);
    assert.ok(r.body.equals(data.subarray(start, end + 1)), range);
  }
  const beyond = await get("bytes=1000-1001");
  assert.equal(beyond.status, 416);
  assert.equal(codeOf(beyond), "IM_ERR_BAD_RANGE");
  assert.equal(beyond.headers["content-range"], "bytes */1000");
  const ignored = await get("bytes=0-1,5-6");
  assert.equal(ignored.status, 200, "several ranges: the whole file");
  assert.equal(ignored.body.length, 1000);
  const head = await http(`${h.base}/${id}`, { method: "HEAD", headers: await h.auth("bob") });
  assert.equal(head.status, 200);
  assert.equal(head.headers["content-length"], "1000");
  assert.equal(head.body.length, 0);
});

test("the MIME type comes from the bytes: a text file sent as image/png is text; unknown bytes are octet-stream", async (t) => {
  const h = await files(t);
  const text = await upload(h, "alice", "p2p:bob", Buffer.from("just some notes, ünïcode\n"), "notes.png", { "Content-Type": "image/png" });
  assert.equal(text.status, 201);
  assert.equal(json(text).mime, "text/plain; charset=utf-8");
  assert.equal(json(text).thumbnailId, null);
  const got = await http(`${h.base}/${json(text).id}`, { headers: await h.auth("alice") });
  assert.equal(got.headers["content-type"], "text/plain; charset=utf-8");
  assert.match(String(got.headers["content-disposition"]), /^attachment; /);
  const bin = await upload(h, "alice", "p2p:bob", Buffer.from([0, 1, 2, 3, 0xff, 0xfe]), "x.txt", { "Content-Type": "text/plain" });
  assert.equal(json(bin).mime, "application/octet-stream");
  // A corrupt "PNG" (a real signature, garbage after): stored, no thumbnail.
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: "red" } }).png().toBuffer();
  const broken = Buffer.concat([png.subarray(0, 40), Buffer.alloc(200, 7)]);
  const b = await upload(h, "alice", "p2p:bob", broken, "broken.png");
  assert.equal(b.status, 201);
  assert.deepEqual([json(b).mime, json(b).thumbnailId], ["image/png", null]);
});

test("the size limit: refused mid-stream (413) and at once by Content-Length; nothing stored", async (t) => {
  const h = await files(t, { store: { attachmentMaxBytes: 100_000 } });
  const conv = p2pConversation("alice", "bob");
  const chunks = Array.from({ length: 20 }, () => Buffer.alloc(16 * 1024, 1));
  const r = await http(`${h.base}?conv=p2p:bob`, { method: "POST", headers: { ...(await h.auth("alice")), "Transfer-Encoding": "chunked" }, chunks });
  assert.equal(r.status, 413);
  assert.equal(codeOf(r), "IM_ERR_FILE_TOO_LARGE");
  const declared = await http(`${h.base}?conv=p2p:bob`, { method: "POST", headers: { ...(await h.auth("alice")), "Content-Length": "200000" }, hold: true });
  assert.equal(declared.status, 413);
  assert.deepEqual(await h.store.attachmentsOf(conv, Date.now() + 1000, 10), []);
  const exact = await upload(h, "alice", "p2p:bob", Buffer.alloc(100_000, 2));
  assert.equal(exact.status, 201, "exactly the limit is allowed");
});

test("who may: no token or a bad one is 401, a non-participant gets 404, topics are for members", async (t) => {
  const h = await files(t);
  const id = json(await upload(h, "alice", "p2p:bob", Buffer.from("private"))).id as string;
  const none = await http(`${h.base}/${id}`);
  assert.equal(none.status, 401);
  assert.equal(codeOf(none), "IM_ERR_AUTH_FAILED");
  assert.match(String(none.headers["www-authenticate"]), /^Bearer/);
  const bad = await http(`${h.base}/${id}`, { headers: { Authorization: "Bearer not.a.token" } });
  assert.equal(bad.status, 401);
  const noUpload = await http(`${h.base}?conv=p2p:bob`, { method: "POST", chunks: [Buffer.from("x")] });
  assert.equal(noUpload.status, 401);
  const carol = await http(`${h.base}/${id}`, { headers: await h.auth("carol") });
  assert.equal(carol.status, 404);
  assert.equal(codeOf(carol), "IM_ERR_NO_SUCH_ATTACHMENT");
  const unknown = await http(`${h.base}/00000000-0000-0000-0000-000000000000`, { headers: await h.auth("carol") });
  assert.deepEqual([unknown.status, codeOf(unknown), unknown.body.toString()], [carol.status, codeOf(carol), carol.body.toString()], "indistinguishable");
  const query = await http(`${h.base}/${id}?access_token=${await h.token("bob")}`);
  assert.equal(query.status, 200, "GET takes the token in the query");
  assert.equal(query.body.toString(), "private");
  // Topics.
  await h.store.createTopic("golang", "alice", Date.now());
  const notMember = await upload(h, "eve", "golang", Buffer.from("x"));
  assert.deepEqual([notMember.status, codeOf(notMember)], [403, "IM_ERR_NOT_MEMBER"]);
  const noTopic = await upload(h, "eve", "nosuch", Buffer.from("x"));
  assert.deepEqual([noTopic.status, codeOf(noTopic)], [404, "IM_ERR_NO_SUCH_TOPIC"]);
  const badConv = await upload(h, "eve", "p2p:$x", Buffer.from("x"));
  assert.deepEqual([badConv.status, codeOf(badConv)], [400, "IM_ERR_BAD_CLIENT_ID"]);
  const tid = json(await upload(h, "alice", "golang", Buffer.from("for members"))).id as string;
  assert.equal((await http(`${h.base}/${tid}`, { headers: await h.auth("eve") })).status, 404);
  await h.store.addMember("golang", "eve");
  assert.equal((await http(`${h.base}/${tid}`, { headers: await h.auth("eve") })).status, 200);
});

test("CORS, paths and methods, upload rate limits", async (t) => {
  const h = await files(t, { attachments: { uploadsPerMinute: 2 } });
  const id = json(await upload(h, "alice", "p2p:bob", Buffer.from("a"))).id as string;
  const foreign = await http(`${h.base}/${id}`, { headers: { ...(await h.auth("alice")), Origin: "https://evil.example" } });
  assert.deepEqual([foreign.status, codeOf(foreign)], [403, "IM_ERR_FORBIDDEN"]);
  const page = await http(`${h.base}/${id}`, { headers: { ...(await h.auth("alice")), Origin: TEST_ORIGIN } });
  assert.equal(page.status, 200);
  assert.equal(page.headers["access-control-allow-origin"], TEST_ORIGIN);
  const pre = await http(`${h.base}/${id}`, { method: "OPTIONS", headers: { Origin: TEST_ORIGIN, "Access-Control-Request-Method": "GET" } });
  assert.equal(pre.status, 204);
  assert.match(String(pre.headers["access-control-allow-headers"]), /Authorization/);
  const deep = await http(`${h.base}/${id}/x`, { headers: await h.auth("alice") });
  assert.deepEqual([deep.status, codeOf(deep)], [404, "IM_ERR_NOT_FOUND"]);
  const list = await http(h.base, { headers: await h.auth("alice") });
  assert.deepEqual([list.status, list.headers.allow], [405, "POST"]);
  const ws = await http(`${h.listener.httpOrigin}/ws`);
  assert.equal(ws.status, 426, "the rest of the listener is unchanged");
  assert.equal((await upload(h, "alice", "p2p:bob", Buffer.from("b"))).status, 201);
  const third = await upload(h, "alice", "p2p:bob", Buffer.from("c"));
  assert.deepEqual([third.status, codeOf(third)], [429, "IM_ERR_RATE_LIMITED"]);
  assert.ok(Number(third.headers["retry-after"]) >= 1);
});

test("clientAuth mode none: the file endpoints refuse everything", async (t) => {
  const h = await startWsCore(t, { files: true, conf: { clientAuth: { mode: "none" } } });
  const r = await http(`${h.core.filesUrl}?conv=p2p:bob`, { method: "POST", chunks: [Buffer.from("x")] });
  assert.deepEqual([r.status, codeOf(r)], [403, "IM_ERR_FORBIDDEN"]);
});

test("upload, refer to it in a message, the peer downloads it: WebSocket and line clients see the same reference", async (t) => {
  const h = await files(t);
  const alice = await h.wsLogin("alice");
  const bob = await h.login("bob");
  const url = (await alice.request(Cmd.FILES_URL)).args[0];
  assert.equal(url, h.base);
  const voice = Buffer.concat([Buffer.from("OggS"), Buffer.alloc(60, 0)]);
  const info = json(await upload(h, "alice", "p2p:bob", voice, "voice.ogg")) as { id: string; mime: string };
  await alice.sendP2P("bob", `fc+file:{"type":"file","id":"${info.id}"}`);
  await bob.until("the reference", () => bob.pushesNamed(Cmd.RESP_MESSAGE_P2P).length === 1);
  const body = bob.pushesNamed(Cmd.RESP_MESSAGE_P2P)[0]!.args[0]!;
  assert.equal(body, `fc+file:{"type":"file","id":"${info.id}","name":"voice.ogg","mime":"${info.mime}","size":64,"thumbnailId":null}`);
  const got = await http(`${url}/${info.id}`, { headers: { ...(await h.auth("bob")), Range: "bytes=4-" } });
  assert.equal(got.status, 206);
  assert.equal(got.body.length, 60);
});
