import test from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ComponentView, HistoryResponse, Overview, ProcessDetail, SeriesData, TickEvent } from "../../services/monitor/api-types.js";
import type { FishChatClient } from "../../shared/client/client.js";
import { SERVICE_NODE_FLAGS } from "../../shared/runtime-flags.js";
import { SECRET, startCluster, statsOf } from "../support/cluster.js";
import { freePort, portOpen, waitFor } from "../support/ports.js";
import { startRedis } from "../support/redis.js";

/**
 * The monitor against a real cluster: every figure checked here is one the test caused (clients
 * logged in, messages sent, a process killed), so a monitor that reports plausible but wrong
 * numbers fails.
 */

const TOKEN = "test-monitor-token";

interface Http {
  base: string;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  json<T>(path: string): Promise<T>;
}

/** A client of the monitor's HTTP port that sends the bearer token unless told otherwise. */
function http(port: number, token: string | null): Http {
  const base = `http://127.0.0.1:${port}`;
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const get = (path: string, headers?: Record<string, string>) => fetch(base + path, { headers: headers ?? auth });
  return {
    base,
    get,
    async json<T>(path: string) {
      const r = await get(path);
      assert.equal(r.status, 200, `${path}: HTTP ${r.status}`);
      return (await r.json()) as T;
    },
  };
}

interface PromFamily {
  type: string;
  samples: { labels: Record<string, string>; value: number }[];
}

/** A strict reader of the Prometheus text format (0.0.4): any line it does not understand throws. */
function parseProm(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { type: "", samples: [] }));
    return f;
  };
  const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      family(type[1]!).type = type[2]!;
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue;
    const m = sampleRe.exec(line);
    assert.ok(m, `not a Prometheus line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const rest = (m[2] ?? "").replace(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g, (_all, k: string, v: string) => {
      labels[k] = v;
      return "";
    });
    assert.equal(rest, "", `bad labels in ${JSON.stringify(line)}`);
    const value = Number(m[3]!.replace(/^\+Inf$/, "Infinity").replace(/^-Inf$/, "-Infinity"));
    assert.ok(m[3] === "NaN" || !Number.isNaN(value), `bad value in ${JSON.stringify(line)}`);
    // Histogram and summary samples belong to the family without their suffix.
    const name = m[1]!;
    const base = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    const f = families.get(base);
    assert.ok(f?.type, `sample before its # TYPE line: ${name}`);
    f.samples.push({ labels, value });
  }
  return families;
}

interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/**
 * One HTTP/1.1 request written byte by byte, so the Host and Origin headers are exactly what a
 * DNS-rebinding page's browser would send (fetch() does not let a caller forge Host). The
 * response is read until the server closes; an event stream is cut after its first bytes.
 */
function rawRequest(port: number, path: string, headers: Record<string, string>, httpVersion = "1.1"): Promise<RawResponse> {
  return new Promise((res, rej) => {
    const sock = connect({ host: "127.0.0.1", port });
    let buf = "";
    const done = () => {
      sock.destroy();
      const head = buf.slice(0, buf.indexOf("\r\n\r\n"));
      const [statusLine, ...lines] = head.split("\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1]);
      const h = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      res({ status, headers: h, body: buf.slice(head.length + 4) });
    };
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      buf += d;
      // A stream never ends by itself: its head and first event are enough.
      if (/content-type: text\/event-stream/i.test(buf) && buf.includes("event: overview")) done();
    });
    sock.on("end", done);
    sock.on("error", rej);
    const lines = [`GET ${path} HTTP/${httpVersion}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), "Connection: close", "", ""];
    sock.write(lines.join("\r\n"));
  });
}

function lastOf(s: SeriesData, name: string): number | null | undefined {
  return s.series[name]?.[s.t.length - 1];
}

test("monitor API: overview, history, detail, metrics and stream match what the cluster did", { timeout: 60_000 }, async (t) => {
  const port = await freePort();
  const cl = await startCluster(t, {
    msgServers: 2,
    manager: true,
    monitor: true,
    // Short history (10 points at the harness's 500 ms samples), so the test sees the ring wrap.
    conf: { monitor: { http: { host: "127.0.0.1", port, token: TOKEN }, historyMs: 5000 } },
  });
  const api = http(port, TOKEN);
  const [a, b] = cl.msgServers as [(typeof cl.msgServers)[0], (typeof cl.msgServers)[0]];

  await t.test("every process is listed and up", async () => {
    const o = await waitFor("all six processes up", async () => {
      const o = await api.json<Overview>("/api/overview");
      return o.processes.length === 6 && o.processes.every((p) => p.status === "up") ? o : null;
    });
    assert.deepEqual(o.processes.map((p) => p.role), ["gateway", "msg_server", "msg_server", "router", "manager", "monitor"]);
    assert.deepEqual(o.processes.filter((p) => p.role === "msg_server").map((p) => p.addr).sort(), [a.addr, b.addr].sort());
    for (const p of o.processes) {
      assert.ok(p.pid && p.pid > 0, `${p.key} has a pid`);
      assert.ok(p.uptimeMs !== null && p.uptimeMs >= 0 && p.uptimeMs < 60_000, `${p.key} uptime ${p.uptimeMs}`);
    }
    assert.equal(o.totals.msgServersUp, 2);
    assert.equal(o.registryError, null);
  });

  const clients: FishChatClient[] = [];
  await t.test("5 clients logged in: the sessions count says 5, split as the servers say", async () => {
    for (let i = 0; i < 3; i++) clients.push(await cl.client(`mon-a${i}`, { via: a.addr, heartbeatMs: 1000 }));
    for (let i = 0; i < 2; i++) clients.push(await cl.client(`mon-b${i}`, { via: b.addr, heartbeatMs: 1000 }));
    const o = await waitFor("sessions = 5", async () => {
      const o = await api.json<Overview>("/api/overview");
      return o.totals.sessions === 5 ? o : null;
    });
    const byAddr = new Map(o.processes.map((p) => [p.addr, p]));
    assert.equal(byAddr.get(a.addr)?.stats.sessions, 3);
    assert.equal(byAddr.get(b.addr)?.stats.sessions, 2);
    assert.equal((await statsOf(a)).sessions, 3, "the server agrees");
  });

  await t.test("messages sent are counted once, and show as a rate", async () => {
    const before = (await api.json<Overview>("/api/overview")).processes.find((p) => p.addr === a.addr)!.stats.msgsIn ?? 0;
    const N = 40;
    for (let i = 0; i < N; i++) await clients[0]!.sendP2P("mon-b0", `m${i}`);
    const p = await waitFor("msgsIn counted", async () => {
      const p = (await api.json<Overview>("/api/overview")).processes.find((x) => x.addr === a.addr)!;
      return (p.stats.msgsIn ?? 0) - before === N ? p : null;
    });
    assert.equal(p.stats.routedOut !== undefined && p.stats.routedOut >= N, true, "cross-server messages were routed");
    // The burst took well under a second, so some sampled interval saw a non-zero rate.
    const h = await api.json<SeriesData>(`/api/history?scope=${encodeURIComponent(a.addr)}`);
    assert.ok(h.series.msgsInPerSec!.some((v) => v !== null && v > 0), `a rate was recorded: ${JSON.stringify(h.series.msgsInPerSec)}`);
  });

  await t.test("history: one time axis, bounded by historyMs / sampleMs", async () => {
    await waitFor("the ring to wrap", async () => (await api.json<HistoryResponse>("/api/history")).cluster.t.length >= 10, 15_000);
    const h = await api.json<HistoryResponse>("/api/history");
    assert.equal(h.sampleMs, 500);
    assert.ok(h.cluster.t.length <= 10, `history holds at most 10 points, has ${h.cluster.t.length}`);
    for (const s of [h.cluster, ...Object.values(h.servers)]) {
      assert.deepEqual(s.t, h.cluster.t, "every series shares the cluster's time axis");
      for (const col of Object.values(s.series)) assert.equal(col.length, s.t.length);
    }
    assert.ok(h.cluster.t.every((x, i) => i === 0 || x > h.cluster.t[i - 1]!), "times increase");
    assert.equal(lastOf(h.cluster, "sessions"), 5);
    assert.deepEqual(Object.keys(h.servers).sort(), [a.addr, b.addr].sort());
    const since = h.cluster.t[h.cluster.t.length - 3]!;
    const recent = (await api.json<HistoryResponse>(`/api/history?since=${since}`)).cluster.t;
    assert.equal(recent[0], since, "since is inclusive");
    assert.ok(recent.length >= 3 && recent.length <= 5, `${recent.length} points since the third-to-last`);
  });

  await t.test("one server's detail, and 404s", async () => {
    const d = await api.json<ProcessDetail>(`/api/processes/msg_server/${encodeURIComponent(b.addr)}`);
    assert.equal(d.process.status, "up");
    assert.equal(d.process.stats.sessions, 2);
    assert.equal(d.process.link?.up, true);
    assert.ok(d.history && lastOf(d.history, "sessions") === 2);
    assert.equal((await api.get("/api/processes/msg_server/127.0.0.1:1")).status, 404);
    assert.equal((await api.get("/api/history?scope=nowhere")).status, 404);
    assert.equal((await api.get("/api/nothing")).status, 404);
  });

  await t.test("/metrics parses and carries the session gauges", async () => {
    const r = await api.get("/metrics");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const m = parseProm(await r.text());
    assert.equal(m.get("fishchat_cluster_sessions")?.type, "gauge");
    assert.equal(m.get("fishchat_cluster_sessions")?.samples[0]?.value, 5);
    const per = m.get("fishchat_msg_server_sessions")!;
    assert.equal(per.type, "gauge");
    assert.deepEqual(Object.fromEntries(per.samples.map((s) => [s.labels.id, s.value])), { [a.addr]: 3, [b.addr]: 2 });
    assert.equal(m.get("fishchat_msg_server_msgs_in_total")?.type, "counter");
    const up = m.get("fishchat_process_up")!.samples;
    assert.equal(up.length, 6);
    assert.ok(up.every((s) => s.value === 1));
    assert.ok(m.has("fishchat_monitor_process_resident_memory_bytes"), "the monitor's own process metrics");
  });

  await t.test("the event stream sends the overview, then a tick per sample", async () => {
    const ctrl = new AbortController();
    const r = await fetch(`${api.base}/api/events`, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: ctrl.signal });
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/event-stream/);
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    const events: { event: string; data: unknown }[] = [];
    while (events.filter((e) => e.event === "tick").length < 2) {
      const { value, done } = await reader.read();
      assert.ok(!done, "stream stays open");
      buf += value;
      for (let i: number; (i = buf.indexOf("\n\n")) >= 0; buf = buf.slice(i + 2)) {
        const block = buf.slice(0, i);
        const ev = /^event: (\S+)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
      }
    }
    ctrl.abort();
    assert.equal(events[0]!.event, "overview");
    const ticks = events.filter((e) => e.event === "tick").map((e) => e.data as TickEvent);
    assert.equal(ticks[0]!.overview.totals.sessions, 5);
    assert.equal(ticks[0]!.point.cluster.sessions, 5);
    assert.ok(ticks[1]!.point.t > ticks[0]!.point.t);
  });

  await t.test("with a token configured, data needs it and the page does not", async () => {
    const anon = http(port, null);
    for (const path of ["/api/overview", "/api/history", "/api/events", "/metrics"]) {
      const r = await anon.get(path);
      assert.equal(r.status, 401, path);
      assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer/);
    }
    assert.equal((await http(port, "wrong-token").get("/api/overview")).status, 401);
    assert.equal((await anon.get("/healthz")).status, 200);
    // The page holds no data; it asks for the token itself.
    const page = await anon.get("/");
    assert.equal(page.status, 200);
    assert.match(await page.text(), /FishChat monitor/);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  });

  await t.test("components: Redis and the store are up, each with its own reason", async () => {
    const o = await waitFor("both components up", async () => {
      const o = await api.json<Overview>("/api/overview");
      return o.components.every((c) => c.status === "up") ? o : null;
    });
    const redis = o.components.find((c) => c.key === "redis")!;
    assert.equal(redis.addr, `127.0.0.1:${cl.redis.port}`);
    assert.match(redis.reason, /^PING \d+(\.\d)? ms · registry read \d+(\.\d)? ms$/);
    assert.ok(redis.latencyMs !== null && redis.latencyMs >= 0 && redis.latencyMs < 250);
    const store = o.components.find((c) => c.key === "store")!;
    assert.deepEqual(store.parts.map((p) => p.id).sort(), [a.addr, b.addr].sort(), "one part per msg_server");
    assert.ok(store.parts.every((p) => p.status === "up"), JSON.stringify(store.parts));
    // Client connections leave out the router's, manager's and monitor's links (3 per server).
    assert.equal(o.totals.connections, 5);
    const sa = o.processes.find((p) => p.addr === a.addr)!.stats;
    assert.equal(sa.clientConnections, 3);
    assert.equal(sa.connections, 6, "3 clients + router, manager and monitor links");
    const m = parseProm(await (await api.get("/metrics")).text());
    assert.deepEqual(
      m.get("fishchat_component_up")!.samples.map((x) => `${x.labels.component}=${x.value}`).sort(),
      ["redis=1", "store=1"],
    );
  });

  await t.test("Host and Origin: a DNS-rebinding request is refused with a clear JSON error", async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const own = `127.0.0.1:${port}`;
    assert.equal((await rawRequest(port, "/api/overview", { Host: own, ...auth })).status, 200, "the monitor's own address");
    assert.equal((await rawRequest(port, "/api/overview", { Host: `localhost:${port}`, ...auth })).status, 200);
    assert.equal((await rawRequest(port, "/api/overview", { Host: `[::1]:${port}`, ...auth })).status, 200);
    for (const [path, host] of [
      ["/api/overview", `attacker.example:${port}`],
      ["/api/overview", "attacker.example"],
      ["/", `attacker.example:${port}`],
      ["/metrics", `localhost.attacker.example:${port}`],
      ["/api/events", `attacker.example:${port}`],
      ["/api/overview", `127.0.0.1:${port + 1}`],
    ] as const) {
      const r = await rawRequest(port, path, { Host: host, ...auth });
      assert.equal(r.status, 421, `${path} with Host ${host}`);
      assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
      const body = JSON.parse(r.body) as { error: string; message: string };
      assert.equal(body.error, "misdirected_request");
      assert.match(body.message, /does not answer to the host name .*http\.allowedHosts/);
      assert.doesNotMatch(r.body, /processes|sessions/, "no cluster data in the refusal");
    }
    const bare = await rawRequest(port, "/api/overview", auth, "1.0");
    assert.equal(bare.status, 421, "no Host at all (HTTP/1.0)");
    assert.equal((await rawRequest(port, "/healthz", { Host: "attacker.example" })).status, 200, "/healthz reveals nothing and answers load balancers");

    // The live stream: a page of another origin may not open it, the dashboard's own origin may.
    for (const origin of ["http://attacker.example", `http://attacker.example:${port}`, "null", `http://127.0.0.1:${port + 1}`]) {
      const r = await rawRequest(port, "/api/events", { Host: own, Origin: origin, ...auth });
      assert.equal(r.status, 403, `Origin ${origin}`);
      assert.equal((JSON.parse(r.body) as { error: string }).error, "forbidden_origin");
    }
    const live = await rawRequest(port, "/api/events", { Host: own, Origin: `http://${own}`, ...auth });
    assert.equal(live.status, 200);
    assert.match(live.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.equal((await rawRequest(port, "/api/events", { Host: own, Origin: `http://localhost:${port}`, ...auth })).status, 200);
  });

  await t.test("a killed msg_server is shown down within a few seconds", async () => {
    const killedAt = Date.now();
    await b.kill();
    const o = await waitFor("b down", async () => {
      const o = await api.json<Overview>("/api/overview");
      return o.processes.find((p) => p.addr === b.addr)?.status === "down" ? o : null;
    }, 5000);
    const tookMs = Date.now() - killedAt;
    // registryTtlMs is 1500 ms in the harness, sampleMs 500 ms.
    assert.ok(tookMs < 4000, `down after ${tookMs} ms`);
    assert.equal(o.totals.msgServersUp, 1);
    assert.equal(o.totals.sessions, 3, "sessions of the dead server no longer count");
    assert.equal(o.processes.find((p) => p.addr === a.addr)?.status, "up");
    const m = parseProm(await (await api.get("/metrics")).text());
    const up = m.get("fishchat_process_up")!.samples.find((s) => s.labels.id === b.addr);
    assert.equal(up?.value, 0);
    assert.equal(up?.labels.status, "down");
    // A down server gets gaps in its charts, not zeros.
    await waitFor("a null point for b", async () => lastOf((await api.json<HistoryResponse>("/api/history")).servers[b.addr]!, "sessions") === null);
  });
});

test("monitor auth: basic-auth credentials guard everything, the token works alongside", { timeout: 30_000 }, async (t) => {
  const port = await freePort();
  await startCluster(t, {
    msgServers: 1,
    gateway: false,
    router: false,
    monitor: true,
    conf: { monitor: { http: { host: "127.0.0.1", port, token: TOKEN, username: "ops", password: "pa:ss word" } } },
  });
  const basic = (user: string, pass: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}` });
  const api = http(port, null);
  for (const path of ["/", "/app.js", "/api/overview", "/metrics"]) {
    const r = await api.get(path, {});
    assert.equal(r.status, 401, `${path} without credentials`);
    assert.match(r.headers.get("www-authenticate") ?? "", /^Basic realm="FishChat monitor"/);
  }
  assert.equal((await api.get("/api/overview", basic("ops", "pa:ss word"))).status, 200, "right credentials (password holds a colon)");
  assert.equal((await api.get("/", basic("ops", "pa:ss word"))).status, 200, "the page too");
  assert.equal((await api.get("/api/overview", basic("ops", "wrong"))).status, 401);
  assert.equal((await api.get("/api/overview", basic("root", "pa:ss word"))).status, 401);
  assert.equal((await api.get("/metrics", { Authorization: `Bearer ${TOKEN}` })).status, 200, "the token is accepted as well");
  assert.equal((await api.get("/api/overview", { Authorization: "Bearer nope" })).status, 401);
  assert.equal((await api.get("/healthz", {})).status, 200, "health checks need no credentials");
});

test("Redis down: Redis shows down in words, every process goes stale, nothing is up; back up after a restart", { timeout: 60_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 1, router: false, monitor: true });
  const api = http(cl.monitorHttpPort, null);
  const overview = () => api.json<Overview>("/api/overview");
  const comp = (o: Overview, key: ComponentView["key"]) => o.components.find((c) => c.key === key)!;
  const redisAt = `127.0.0.1:${cl.redis.port}`;
  await waitFor("everything up", async () => {
    const o = await overview();
    return o.processes.length === 3 && o.processes.every((p) => p.status === "up") && o.components.every((c) => c.status === "up");
  });

  const killedAt = Date.now();
  await cl.redis.kill();
  const down = await waitFor("Redis down and nothing up", async () => {
    const o = await overview();
    return comp(o, "redis").status === "down" && o.processes.every((p) => p.status !== "up") ? o : null;
  }, 10_000);
  const tookMs = Date.now() - killedAt;
  assert.ok(tookMs < 5000, `shown within ${tookMs} ms (sampleMs is 500)`);
  const redis = comp(down, "redis");
  assert.equal(redis.reason, `Redis at ${redisAt} refuses connections (is redis-server running?)`);
  assert.equal(down.registryError, redis.reason, "the registry error is worded the same way");
  assert.doesNotMatch(JSON.stringify(down), /ECONNREFUSED|Stream isn't writeable|max retries|enableOfflineQueue/, "no raw ioredis text anywhere");
  assert.deepEqual(down.processes.map((p) => p.status), ["stale", "stale", "stale"], down.processes.map((p) => `${p.key}: ${p.reason}`).join("\n"));
  assert.match(down.processes[0]!.reason, /^Redis cannot be read/);
  assert.match(down.processes.find((p) => p.role === "msg_server")!.reason, /link and beats are fresh/);
  assert.equal(down.totals.processesUp, 0);
  assert.equal(comp(down, "store").status, "up", "the store does not depend on Redis");
  const m = parseProm(await (await api.get("/metrics")).text());
  assert.ok(m.get("fishchat_process_up")!.samples.every((x) => x.value === 0 && x.labels.status === "stale"));
  assert.deepEqual(m.get("fishchat_component_up")!.samples.find((x) => x.labels.component === "redis")?.labels.status, "down");

  // Heartbeat ages keep growing on the monitor's clock while nothing new can be read.
  await new Promise((r) => setTimeout(r, 1500));
  const later = await overview();
  assert.ok(later.processes.every((p) => p.status === "stale" && (p.heartbeatAgeMs ?? 0) >= 1500), later.processes.map((p) => `${p.key} ${p.status} ${p.heartbeatAgeMs}`).join(", "));

  await cl.redis.restart();
  const back = await waitFor("all up again", async () => {
    const o = await overview();
    return comp(o, "redis").status === "up" && o.processes.every((p) => p.status === "up") ? o : null;
  }, 15_000);
  assert.equal(back.registryError, null);
  const r = comp(back, "redis");
  assert.equal(r.lastError, `Redis at ${redisAt} refuses connections (is redis-server running?)`, "the last error stays visible after recovery");
  assert.ok(r.since !== null && r.since >= killedAt);
});

test("a late heartbeat is stale while its TTL key still says alive", { timeout: 40_000 }, async (t) => {
  // A long TTL and a short staleness limit: a frozen process stays "alive" in Redis for 20 s, but the monitor calls it stale after 1.2 s.
  const cl = await startCluster(t, {
    msgServers: 1,
    router: false,
    monitor: true,
    conf: { gateway: { registryTtlMs: 20_000 }, monitor: { heartbeatStaleMs: 1200 } },
  });
  const api = http(cl.monitorHttpPort, null);
  const gw = await waitFor("gateway up", async () => (await api.json<Overview>("/api/overview")).processes.find((p) => p.role === "gateway" && p.status === "up"));
  const frozenAt = Date.now();
  cl.gateway!.proc!.kill("SIGSTOP");
  try {
    const stale = await waitFor("gateway stale", async () => (await api.json<Overview>("/api/overview")).processes.find((p) => p.key === gw.key && p.status === "stale"), 5000);
    assert.match(stale.reason, /registry heartbeat is late: last seen \d+(\.\d)? s ago, expected within 1\.2 s/);
    assert.ok(Date.now() - frozenAt < 3000, "stale long before the 20 s TTL");
  } finally {
    // A stopped process would also hold up the cluster's SIGTERM at teardown.
    cl.gateway!.proc!.kill("SIGCONT");
  }
  await waitFor("gateway up again", async () => (await api.json<Overview>("/api/overview")).processes.find((p) => p.key === gw.key && p.status === "up"), 5000);
});

const MONITOR_MAIN = resolve(import.meta.dirname, "../../services/monitor/main.js");

test("exposure: an open monitor API on all interfaces refuses to start (exit 2, one line); with a token it starts", { timeout: 30_000 }, async (t) => {
  const redis = await startRedis({ aof: false });
  t.after(() => redis.stop());
  const dir = mkdtempSync(join(tmpdir(), "fc-monitor-exposure-"));
  const [listen, httpPort] = [await freePort(), await freePort()];
  const conf = (http: Record<string, unknown>) => {
    const f = join(dir, `monitor-${Object.keys(http).length}.json`);
    const body = { clusterSecret: SECRET, listen: `127.0.0.1:${listen}`, redis: { host: "127.0.0.1", port: redis.port }, http: { host: "0.0.0.0", port: httpPort, ...http } };
    writeFileSync(f, JSON.stringify(body));
    return f;
  };
  const open = spawnSync(process.execPath, [...SERVICE_NODE_FLAGS, MONITOR_MAIN, `-conf_file=${conf({})}`], { encoding: "utf8", timeout: 15_000 });
  assert.equal(open.status, 2, `exit code; stderr: ${open.stderr}`);
  const lines = open.stderr.trim().split("\n");
  assert.equal(lines.length, 1, open.stderr);
  assert.match(lines[0]!, new RegExp(`^monitor: IM_ERR_CONFIG refusing to start: monitor http 0\\.0\\.0\\.0:${httpPort} is reachable beyond this machine without credentials; set http\\.token`));
  assert.equal(await portOpen(httpPort), false, "nothing was listening");

  const p = spawn(process.execPath, [...SERVICE_NODE_FLAGS, MONITOR_MAIN, `-conf_file=${conf({ token: "a-long-enough-monitor-token" })}`], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => p.once("exit", (code) => r(code)));
  t.after(() => p.kill("SIGKILL"));
  await waitFor(`monitor listening on 0.0.0.0:${httpPort} (output: ${out})`, () => p.exitCode === null && portOpen(httpPort), 15_000);
  // Token required on the data, and the Host check on: the rebinding name is refused even with it.
  assert.equal((await rawRequest(httpPort, "/api/overview", { Host: `127.0.0.1:${httpPort}` })).status, 401);
  assert.equal((await rawRequest(httpPort, "/api/overview", { Host: `127.0.0.1:${httpPort}`, Authorization: "Bearer a-long-enough-monitor-token" })).status, 200);
  assert.equal((await rawRequest(httpPort, "/api/overview", { Host: `attacker.example:${httpPort}`, Authorization: "Bearer a-long-enough-monitor-token" })).status, 421);
  p.kill("SIGTERM");
  assert.equal(await exited, 0);
});
