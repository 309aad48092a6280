import test from "node:test";
import assert from "node:assert/strict";
import type { HistoryResponse, Overview, ProcessDetail, SeriesData, TickEvent } from "../../services/monitor/api-types.js";
import type { FishChatClient } from "../../shared/client/client.js";
import { startCluster, statsOf } from "../support/cluster.js";
import { freePort, waitFor } from "../support/ports.js";

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
