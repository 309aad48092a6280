import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { jwtVerify } from "jose";
import { MemoryProcessRegistry } from "../../../shared/bus/memory-process-registry.js";
import { parseConfig } from "../../../shared/config/load-config.js";
import { checkExposure, ExposureCode } from "../../../shared/config/exposure.js";
import { counters } from "../../../shared/stats-schema.js";
import { Balancer } from "../../../services/gateway/balancer.js";
import { gatewayHttpSchema } from "../../../services/gateway/config.js";
import { startGatewayHttp } from "../../../services/gateway/http.js";
import { MAX_DEV_LOGIN_BODY_BYTES } from "../../../services/gateway/dev-login.js";
import { captureLogger } from "../../support/log-sink.js";
import { readServices, writeOverrides } from "../../../scripts/dev-cluster/services.js";

/** The gateway's chat routes: the page at `/`, GET /v1/chat-config and the development login. */

const SECRET = "chat-http-test-key-0123456789abcdef0123";
const DEV_LOGIN = { key: { kid: "dev", alg: "HS256", secret: SECRET }, tokenTtlSec: 600 };

async function start(t: import("node:test").TestContext, http: Record<string, unknown>, chatUiDir?: string) {
  const reg = new MemoryProcessRegistry();
  const balancer = new Balancer(reg, [], 60_000, captureLogger().log);
  await reg.announce({ role: "msg_server", id: "a:1", addr: "a:1", pid: 1, version: "t", startedAt: 1, ts: Date.now(), stats: { connections: 0 }, ws: "ws://a:2/ws" }, 60_000);
  await balancer.refresh();
  const logs = captureLogger();
  const g = await startGatewayHttp({ cfg: parseConfig("t", { listen: "127.0.0.1:0", ...http }, gatewayHttpSchema), balancer, counters: counters("gateway"), log: logs.log, chatUiDir });
  t.after(() => g.close());
  return { base: `http://127.0.0.1:${g.port}`, port: g.port, logs };
}

/** A raw request: fetch cannot set Host. */
function raw(port: number, o: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: o.method ?? "GET", path: o.path, headers: o.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

const post = (base: string, body: unknown, headers: Record<string, string> = { "Content-Type": "application/json" }) =>
  fetch(`${base}/v1/dev-login`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });

test("dev-login: off by default, refused with a coded reason; chat-config says so", async (t) => {
  const g = await start(t, {});
  const r = await post(g.base, { id: "alice" });
  assert.equal(r.status, 403);
  const body = (await r.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "IM_ERR_FORBIDDEN");
  assert.match(body.error.message, /development login is off.*http\.devLogin/);
  assert.deepEqual(await (await fetch(`${g.base}/v1/chat-config`)).json(), { devLogin: false, embedOrigins: [] });
});

test("dev-login: mints a token the configured key verifies, for the id asked, with an endpoint", async (t) => {
  const g = await start(t, { devLogin: DEV_LOGIN, embedOrigins: ["https://app.example"] });
  assert.ok(g.logs.lines().some((l) => l.level === 40 && /devLogin is on/.test(String(l.msg))), "a warning at start");
  const r = await post(g.base, { id: "alice" });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("cache-control"), "no-store");
  const body = (await r.json()) as { id: string; token: string; exp: number; endpoint: unknown };
  assert.equal(body.id, "alice");
  assert.deepEqual(body.endpoint, { ws: "ws://a:2/ws", tcp: "a:1" });
  const { payload, protectedHeader } = await jwtVerify(body.token, new TextEncoder().encode(SECRET), { algorithms: ["HS256"] });
  assert.equal(payload.sub, "alice");
  assert.equal(protectedHeader.kid, "dev");
  assert.equal(payload.exp, body.exp);
  assert.ok(Math.abs(body.exp - (Date.now() / 1000 + 600)) < 5);
  // NFC: the same id however it was typed.
  const nfd = (await (await post(g.base, { id: "Zoe\u0301" })).json()) as { id: string };
  assert.equal(nfd.id, "Zo\u00e9");
  assert.deepEqual(await (await fetch(`${g.base}/v1/chat-config`)).json(), { devLogin: true, embedOrigins: ["https://app.example"] });
  // Nothing secret in the log.
  assert.ok(!g.logs.lines().some((l) => JSON.stringify(l).includes(body.token)));
});

test("dev-login: bad input gets a coded error, never a token", async (t) => {
  const g = await start(t, { devLogin: DEV_LOGIN });
  const code = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code;
  let r = await post(g.base, { id: "alice" }, { "Content-Type": "text/plain" });
  assert.equal(r.status, 415);
  assert.equal(await code(r), "IM_ERR_BAD_ARGS");
  r = await post(g.base, "{not json");
  assert.equal(r.status, 400);
  r = await post(g.base, { name: "alice" });
  assert.equal(r.status, 400);
  r = await post(g.base, ["alice"]);
  assert.equal(r.status, 400);
  for (const id of ["", "two words", "$system", "x".repeat(129), 'qu"ote']) {
    r = await post(g.base, { id });
    assert.equal(r.status, 400, JSON.stringify(id));
    assert.equal(await code(r), "IM_ERR_BAD_CLIENT_ID");
  }
  r = await post(g.base, { id: "a", pad: "x".repeat(MAX_DEV_LOGIN_BODY_BYTES) });
  assert.equal(r.status, 413);
  assert.equal(await code(r), "IM_ERR_MSG_TOO_LARGE");
  r = await fetch(`${g.base}/v1/dev-login`);
  assert.equal(r.status, 405);
  assert.equal(r.headers.get("allow"), "POST");
});

test("dev-login: only for this gateway's own names and origins (DNS rebinding, other sites)", async (t) => {
  const g = await start(t, { devLogin: DEV_LOGIN, allowedOrigins: ["https://dev.example"] });
  const body = JSON.stringify({ id: "alice" });
  const json = { "Content-Type": "application/json" };
  // A page on attacker.example rebound to 127.0.0.1 sends its own name as Host (and Origin).
  const rebound = await raw(g.port, { method: "POST", path: "/v1/dev-login", headers: { ...json, Host: `attacker.example:${g.port}` }, body });
  assert.equal(rebound.status, 421);
  assert.doesNotMatch(rebound.body, /token"/);
  const foreign = await raw(g.port, { method: "POST", path: "/v1/dev-login", headers: { ...json, Host: `127.0.0.1:${g.port}`, Origin: "https://evil.example" }, body });
  assert.equal(foreign.status, 403);
  // The page it serves (same origin), by either loopback name, and a listed origin.
  for (const host of [`127.0.0.1:${g.port}`, `localhost:${g.port}`]) {
    const own = await raw(g.port, { method: "POST", path: "/v1/dev-login", headers: { ...json, Host: host, Origin: `http://${host}` }, body });
    assert.equal(own.status, 200, host);
  }
  const listed = await raw(g.port, { method: "POST", path: "/v1/dev-login", headers: { ...json, Host: `127.0.0.1:${g.port}`, Origin: "https://dev.example" }, body });
  assert.equal(listed.status, 200);
  // The own origin is not echoed as CORS (it needs none); a listed one is, for GET /v1/endpoint too.
  const ep = await raw(g.port, { path: "/v1/endpoint", headers: { Host: `127.0.0.1:${g.port}`, Origin: `http://127.0.0.1:${g.port}` } });
  assert.equal(ep.status, 200);
});

test("the chat page: index.html at /, assets by name with a strict CSP, 503 until built, nothing outside its folder", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fc-chat-ui-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const unbuilt = await start(t, {}, join(dir, "missing"));
  const r503 = await fetch(`${unbuilt.base}/`);
  assert.equal(r503.status, 503);
  assert.match(await r503.text(), /npm run build/);

  mkdirSync(join(dir, "dist"));
  writeFileSync(join(dir, "dist", "index.html"), "<!doctype html><title>x</title>");
  writeFileSync(join(dir, "dist", "app.js"), "export {};");
  writeFileSync(join(dir, "secret.txt"), "not served");
  const g = await start(t, { embedOrigins: ["https://app.example"] }, join(dir, "dist"));
  const page = await fetch(`${g.base}/`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  const csp = page.headers.get("content-security-policy") ?? "";
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors https:\/\/app\.example/);
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  assert.equal((await fetch(`${g.base}/app.js`)).headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal((await fetch(`${g.base}/app.js`, { method: "HEAD" })).status, 200);
  assert.equal((await fetch(`${g.base}/app.js`, { method: "POST" })).status, 405);
  for (const path of ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/nope.js", "/secret.txt"]) {
    assert.equal((await raw(g.port, { path })).status, 404, path);
  }
  // Not framable by anyone when no embedder is configured.
  const plain = await start(t, {}, join(dir, "dist"));
  assert.match((await fetch(`${plain.base}/`)).headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
  // Off: `/` is the API's 404 again.
  const off = await start(t, { chatPage: false }, join(dir, "dist"));
  assert.equal((await fetch(`${off.base}/`)).status, 404);
});

test("exposure: a dev login reachable beyond loopback refuses to start, on loopback it does not", () => {
  const base = { listeners: [{ name: "http.listen", addr: "0.0.0.0:17080" }], clusterSecret: "x".repeat(40) };
  const exposed = checkExposure({ ...base, devLogin: { addr: "0.0.0.0:17080" } });
  assert.deepEqual(
    exposed.refuse.map((f) => f.code),
    [ExposureCode.dev_login_exposed],
  );
  assert.match(exposed.refuse[0]!.message, /http\.devLogin mints a token for any client id/);
  assert.deepEqual(checkExposure({ ...base, listeners: [{ name: "http.listen", addr: "127.0.0.1:17080" }], devLogin: { addr: "127.0.0.1:17080" } }).refuse, []);
  assert.deepEqual(checkExposure(base).refuse, []);
});

test("config: devLogin and embedOrigins are checked", () => {
  assert.throws(() => parseConfig("t", { embedOrigins: ["https://app.example/path"] }, gatewayHttpSchema), /origin/);
  assert.throws(() => parseConfig("t", { devLogin: { key: { kid: "dev", alg: "HS256", secret: "short" } } }, gatewayHttpSchema), /at least 32 bytes/);
  assert.throws(() => parseConfig("t", { devLogin: { key: { kid: "dev", alg: "HS256", secret: SECRET }, tokenTtlSec: 10 } }, gatewayHttpSchema));
  const c = parseConfig("t", {}, gatewayHttpSchema);
  assert.equal(c.devLogin, undefined);
  assert.equal(c.chatPage, true);
});

test("npm start points the shipped devLogin key at its data dir's development key, like clientAuth's", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fc-devkey-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const services = readServices(join(import.meta.dirname, "../../../../conf"));
  writeOverrides(services, dir, null, join(dir, "dev-token.key"));
  const gw = JSON.parse(readFileSync(join(dir, "conf", "gateway.json"), "utf8")) as { http: { listen: string; devLogin: { key: { secretFile: string; kid: string } } } };
  assert.equal(gw.http.devLogin.key.secretFile, join(dir, "dev-token.key"));
  assert.equal(gw.http.devLogin.key.kid, "dev");
  assert.equal(gw.http.listen, "127.0.0.1:17080", "loopback in the shipped conf");
  const ms = JSON.parse(readFileSync(join(dir, "conf", "msg_server.19000.json"), "utf8")) as { clientAuth: { keys: { secretFile: string }[] }; ws: { allowedOrigins: string[] } };
  assert.equal(ms.clientAuth.keys[0]!.secretFile, join(dir, "dev-token.key"));
  assert.ok(ms.ws.allowedOrigins.includes("http://127.0.0.1:17080"), "the chat page's origin may open WebSockets");
});
