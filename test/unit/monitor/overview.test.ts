import assert from "node:assert/strict";
import test from "node:test";
import type { RegistryEntry } from "../../../shared/bus/process-registry.js";
import { buildOverview, type Beat, type ClusterState } from "../../../services/monitor/overview.js";

const NOW = 1_800_000_000_000;

function entry(role: RegistryEntry["info"]["role"], id: string, alive: boolean, stats: Record<string, number> = {}): RegistryEntry {
  return { alive, info: { role, id, addr: id, pid: 7, version: "t", startedAt: NOW - 60_000, ts: NOW - 500, stats } };
}

const REDIS_OK: ClusterState["redis"] = { addr: "127.0.0.1:6379", subject: "Redis at 127.0.0.1:6379", probe: { ok: true, latencyMs: 0.3, error: null }, registryError: null, registryReadMs: 1, slowMs: 250 };

function state(over: Partial<ClusterState>): ClusterState {
  const registry = over.registry ?? [];
  return {
    now: NOW,
    monitorId: "m",
    sampleMs: 1000,
    historyMs: 60_000,
    beatStaleMs: 3000,
    heartbeatStaleMs: 3000,
    registryError: null,
    // Every heartbeat seen changing half a second ago unless a test says otherwise.
    heartbeatSeen: new Map(registry.map((e) => [`${e.info.role}:${e.info.id}`, NOW - 500])),
    redis: REDIS_OK,
    store: { staleMs: 5000, slowMs: 250 },
    beats: new Map(),
    links: [],
    rates: new Map(),
    ...over,
    registry,
  };
}

const beat = (serverId: string, agoMs: number, stats: Record<string, number>): Beat => ({ serverId, receivedAt: NOW - agoMs, ts: NOW - agoMs, sessionNum: stats.sessions ?? 0, stats });

test("status: up needs a fresh heartbeat, a link and a fresh beat; each missing piece is named", () => {
  const { overview } = buildOverview(
    state({
      registry: [entry("msg_server", "a:1", true), entry("msg_server", "b:1", true), entry("msg_server", "c:1", true), entry("msg_server", "d:1", false), entry("router", "r", true)],
      links: [
        { addr: "a:1", up: true, connects: 1 },
        { addr: "b:1", up: false, connects: 1 },
        { addr: "c:1", up: true, connects: 1 },
        { addr: "seed:1", up: false, connects: 0 },
      ],
      beats: new Map([
        ["a:1", beat("a:1", 200, { sessions: 3, connections: 4 })],
        ["c:1", beat("c:1", 10_000, { sessions: 5 })],
      ]),
    }),
  );
  const by = new Map(overview.processes.map((p) => [p.id, p]));
  assert.equal(by.get("a:1")!.status, "up");
  assert.equal(by.get("b:1")!.status, "no-contact");
  assert.match(by.get("b:1")!.reason, /link to it is down/);
  assert.equal(by.get("c:1")!.status, "no-contact");
  assert.match(by.get("c:1")!.reason, /last monitor beat was 10 s ago/);
  assert.equal(by.get("d:1")!.status, "down");
  assert.equal(by.get("seed:1")!.registered, false, "a seed that never registered is listed, down");
  assert.equal(by.get("r")!.status, "up");
  assert.deepEqual(overview.processes.map((p) => p.role).slice(0, 5), ["msg_server", "msg_server", "msg_server", "msg_server", "msg_server"]);
});

test("totals count live servers only and take rates from counters", () => {
  const { overview, point } = buildOverview(
    state({
      registry: [entry("msg_server", "a:1", true), entry("msg_server", "d:1", false, { sessions: 99 })],
      links: [{ addr: "a:1", up: true, connects: 1 }],
      beats: new Map([["a:1", beat("a:1", 100, { sessions: 3, connections: 4, outboundBytes: 10 })]]),
      rates: new Map([["msg_server:a:1", { msgsIn: 5, topicMsgsIn: 2, msgsOut: 7, routedOut: 1, errors: 1 }]]),
    }),
  );
  assert.equal(overview.totals.sessions, 3, "a down server's last sessions are not counted");
  assert.equal(overview.totals.msgsInPerSec, 7);
  assert.equal(overview.totals.msgsOutPerSec, 7);
  assert.equal(overview.totals.errorsPerSec, 1);
  assert.deepEqual(Object.keys(point.servers), ["a:1"], "a down server gets no chart point");
});

test("staleness: a late heartbeat is stale, not up; an unreadable registry leaves nothing up", () => {
  const registry = [entry("gateway", "0.0.0.0:17000", true), entry("router", "r", true), entry("msg_server", "a:1", true), entry("manager", "gone", false)];
  const links = [{ addr: "a:1", up: true, connects: 1 }];
  const beats = new Map([["a:1", beat("a:1", 200, { sessions: 2, clientConnections: 2, connections: 5, storeOkAgoMs: 300, storeLatencyMs: 0.2 })]]);
  const late = buildOverview(
    state({ registry, links, beats, heartbeatSeen: new Map([["gateway:0.0.0.0:17000", NOW - 500], ["router:r", NOW - 4000], ["msg_server:a:1", NOW - 500]]) }),
  ).overview;
  const by = new Map(late.processes.map((p) => [p.id, p]));
  assert.equal(by.get("0.0.0.0:17000")!.status, "up");
  assert.equal(by.get("r")!.status, "stale");
  assert.match(by.get("r")!.reason, /heartbeat is late: last seen 4 s ago/);
  assert.equal(by.get("r")!.heartbeatAgeMs, 4000);
  assert.equal(by.get("gone")!.status, "down", "an expired TTL is down, not stale");
  assert.equal(late.totals.processesUp, 2);

  const redisDown: ClusterState["redis"] = { addr: "127.0.0.1:6379", subject: "Redis at 127.0.0.1:6379", probe: { ok: false, latencyMs: null, error: "Redis at 127.0.0.1:6379 refuses connections" }, registryError: "x", registryReadMs: null, slowMs: 250 };
  const { overview } = buildOverview(state({ registry, links, beats, registryError: "Redis at 127.0.0.1:6379 refuses connections", redis: redisDown }));
  const statuses = overview.processes.map((p) => p.status);
  assert.deepEqual(statuses.filter((s) => s === "up"), [], `nothing is up while the registry cannot be read: ${statuses}`);
  assert.equal(overview.processes.find((p) => p.id === "a:1")!.status, "stale");
  assert.match(overview.processes.find((p) => p.id === "a:1")!.reason, /^Redis cannot be read; the monitor's link and beats are fresh$/);
  assert.match(overview.processes.find((p) => p.id === "r")!.reason, /^Redis cannot be read: this is its last known state$/);
  assert.equal(overview.processes.find((p) => p.id === "gone")!.status, "down");
  assert.equal(overview.totals.sessions, 2, "a stale server's beat still counts: it is in contact");
  const redis = overview.components.find((c) => c.key === "redis")!;
  assert.equal(redis.status, "down");
  assert.equal(redis.reason, "Redis at 127.0.0.1:6379 refuses connections");
  const store = overview.components.find((c) => c.key === "store")!;
  assert.equal(store.status, "up", "the store is read over the msg_server's own beat, Redis or not");
});

test("addresses and connections for people: wildcard binds and internal links", () => {
  const { overview, point } = buildOverview(
    state({
      registry: [entry("gateway", "0.0.0.0:17000", true), entry("monitor", "[::]:30000", true), entry("msg_server", "a:1", true)],
      links: [{ addr: "a:1", up: true, connects: 1 }],
      beats: new Map([["a:1", beat("a:1", 100, { sessions: 4, connections: 10, clientConnections: 4 })]]),
    }),
  );
  const by = new Map(overview.processes.map((p) => [p.id, p]));
  assert.equal(by.get("0.0.0.0:17000")!.displayAddr, "all interfaces :17000");
  assert.equal(by.get("[::]:30000")!.displayAddr, "all interfaces :30000");
  assert.equal(by.get("a:1")!.displayAddr, "a:1");
  assert.equal(overview.totals.connections, 4, "client connections, not the 6 internal links");
  assert.equal(point.servers["a:1"]!.connections, 4);
  // A msg_server from before clientConnections: connections is all there is.
  const old = buildOverview(state({ registry: [entry("msg_server", "a:1", true)], links: [{ addr: "a:1", up: true, connects: 1 }], beats: new Map([["a:1", beat("a:1", 100, { connections: 3 })]]) }));
  assert.equal(old.overview.totals.connections, 3);
});

test("store component: per msg_server from its gauges; down, degraded and unknown are told apart", () => {
  const servers = ["a:1", "b:1", "c:1"];
  const run = (gauges: Record<string, Record<string, number>>) =>
    buildOverview(
      state({
        registry: servers.map((id) => entry("msg_server", id, true)),
        links: servers.map((addr) => ({ addr, up: true, connects: 1 })),
        beats: new Map(Object.entries(gauges).map(([id, g]) => [id, beat(id, 100, g)])),
      }),
    ).overview.components.find((c) => c.key === "store")!;
  const ok = { storeOkAgoMs: 400, storeLatencyMs: 0.1 };
  assert.equal(run({ "a:1": ok, "b:1": ok, "c:1": ok }).status, "up");
  const one = run({ "a:1": ok, "b:1": { storeOkAgoMs: 12_000, storeLatencyMs: 11_500 }, "c:1": ok });
  assert.equal(one.status, "degraded");
  assert.match(one.reason, /1 of 3 msg_servers: b:1 no successful store read for 12 s; one has been pending for 11\.5 s/);
  assert.equal(one.parts.find((p) => p.id === "b:1")!.status, "down");
  const all = run({ "a:1": { storeOkAgoMs: 9000, storeLatencyMs: 1 }, "b:1": { storeOkAgoMs: 9000, storeLatencyMs: 1 } });
  assert.equal(all.status, "down", "c:1 sends no beat and does not count");
  assert.equal(run({ "a:1": { storeOkAgoMs: 100, storeLatencyMs: 900 } }).status, "degraded", "slow reads");
  assert.equal(run({ "a:1": { sessions: 1 } }).status, "unknown", "a msg_server that does not report on the store");
});
