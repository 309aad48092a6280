import assert from "node:assert/strict";
import test from "node:test";
import type { RegistryEntry } from "../../../shared/bus/process-registry.js";
import { buildOverview, type Beat, type ClusterState } from "../../../services/monitor/overview.js";

const NOW = 1_800_000_000_000;

function entry(role: RegistryEntry["info"]["role"], id: string, alive: boolean, stats: Record<string, number> = {}): RegistryEntry {
  return { alive, info: { role, id, addr: id, pid: 7, version: "t", startedAt: NOW - 60_000, ts: NOW - 500, stats } };
}

function state(over: Partial<ClusterState>): ClusterState {
  return { now: NOW, monitorId: "m", sampleMs: 1000, historyMs: 60_000, beatStaleMs: 3000, registry: [], registryError: null, beats: new Map(), links: [], rates: new Map(), ...over };
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
