import assert from "node:assert/strict";
import test from "node:test";
import { MemoryProcessRegistry } from "../../../shared/bus/memory-process-registry.js";
import type { ProcessInfo } from "../../../shared/bus/process-registry.js";
import { parseConfig } from "../../../shared/config/load-config.js";
import { counters } from "../../../shared/stats-schema.js";
import { Balancer } from "../../../services/gateway/balancer.js";
import { gatewayHttpSchema } from "../../../services/gateway/config.js";
import { startGatewayHttp } from "../../../services/gateway/http.js";
import { captureLogger } from "../../support/log-sink.js";
import { fetchEndpoint } from "../../support/ws-client.js";

const ms = (id: string, connections: number, ws?: string): ProcessInfo => ({
  role: "msg_server",
  id,
  addr: id,
  pid: 1,
  version: "t",
  startedAt: 1,
  ts: Date.now(),
  stats: { connections },
  ...(ws ? { ws } : {}),
});

async function start(t: import("node:test").TestContext, allowedOrigins: string[]) {
  const reg = new MemoryProcessRegistry();
  const balancer = new Balancer(reg, [], 60_000, captureLogger().log);
  const c = counters("gateway");
  const http = await startGatewayHttp({ cfg: parseConfig("t", { listen: "127.0.0.1:0", allowedOrigins }, gatewayHttpSchema), balancer, counters: c, log: captureLogger().log });
  t.after(() => http.close());
  return { reg, balancer, counters: c, port: http.port };
}

test("GET /v1/endpoint: the least-loaded live msg_server with a WebSocket listener, by the Balancer's pick", async (t) => {
  const g = await start(t, ["https://chat.example"]);
  await g.reg.announce(ms("a:1", 10, "ws://a:2/ws"), 60_000);
  await g.reg.announce(ms("b:1", 12, "wss://b:2/ws"), 60_000);
  await g.reg.announce(ms("tcp-only:1", 0), 60_000);
  await g.balancer.refresh();
  const picks = [];
  for (let i = 0; i < 4; i++) {
    const r = await fetchEndpoint(g.port);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("cache-control"), "no-store");
    picks.push(r.body);
  }
  // a: 10, 11 -> then both at 12, ties go to the first.
  assert.deepEqual(picks, [
    { ws: "ws://a:2/ws", tcp: "a:1" },
    { ws: "ws://a:2/ws", tcp: "a:1" },
    { ws: "ws://a:2/ws", tcp: "a:1" },
    { ws: "wss://b:2/ws", tcp: "b:1" },
  ]);
  // ?transport=tcp considers every server: the TCP-only one is least loaded.
  assert.deepEqual((await fetchEndpoint(g.port, { query: "?transport=tcp" })).body, { ws: null, tcp: "tcp-only:1" });
  assert.equal((await fetchEndpoint(g.port, { query: "?transport=udp" })).status, 400);
  assert.deepEqual([g.counters.requests, g.counters.handedOut, g.counters.noServer], [5, 5, 0]);
});

test("GET /v1/endpoint: 503 with a coded error when no msg_server is live", async (t) => {
  const g = await start(t, []);
  await g.reg.announce(ms("tcp-only:1", 0), 60_000);
  await g.balancer.refresh();
  const r = await fetchEndpoint(g.port);
  assert.equal(r.status, 503);
  assert.equal((r.body as { error: { code: string } }).error.code, "IM_ERR_NO_MSG_SERVER");
  await g.reg.withdraw("msg_server", "tcp-only:1");
  await g.balancer.refresh();
  assert.equal((await fetchEndpoint(g.port, { query: "?transport=tcp" })).status, 503);
  assert.equal(g.counters.noServer, 2);
});

test("CORS: allowed origins are echoed, others refused with 403, no Origin needs no header; other paths and methods", async (t) => {
  const g = await start(t, ["https://chat.example"]);
  await g.reg.announce(ms("a:1", 0, "ws://a:2/ws"), 60_000);
  await g.balancer.refresh();
  const ok = await fetchEndpoint(g.port, { origin: "https://chat.example" });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("access-control-allow-origin"), "https://chat.example");
  assert.equal(ok.headers.get("vary"), "Origin");
  const bad = await fetchEndpoint(g.port, { origin: "https://evil.example" });
  assert.equal(bad.status, 403);
  assert.equal(bad.headers.get("access-control-allow-origin"), null);
  assert.equal((bad.body as { error: { code: string } }).error.code, "IM_ERR_FORBIDDEN");
  const none = await fetchEndpoint(g.port);
  assert.equal(none.status, 200);
  assert.equal(none.headers.get("access-control-allow-origin"), null);

  const any = await start(t, ["*"]);
  await any.reg.announce(ms("a:1", 0, "ws://a:2/ws"), 60_000);
  await any.balancer.refresh();
  assert.equal((await fetchEndpoint(any.port, { origin: "https://anyone.example" })).headers.get("access-control-allow-origin"), "*");

  const base = `http://127.0.0.1:${g.port}`;
  const pre = await fetch(`${base}/v1/endpoint`, { method: "OPTIONS", headers: { Origin: "https://chat.example" } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-methods"), "GET");
  assert.equal((await fetch(`${base}/v1/other`)).status, 404);
  const post = await fetch(`${base}/v1/endpoint`, { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET");
});
