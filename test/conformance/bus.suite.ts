/**
 * The rules every Bus implementation keeps (shared/bus/bus.ts): the session directory, the
 * process registry, control messages and v1's cache. Run against Redis (a real redis-server) and
 * against the in-memory Bus the unit tests use, so the fake cannot drift from the real thing.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Bus } from "../../shared/bus/bus.js";
import type { ControlMessage } from "../../shared/bus/control-bus.js";
import type { ProcessInfo } from "../../shared/bus/process-registry.js";
import { waitFor, sleep } from "../support/ports.js";

export interface BusFactory {
  /** A fresh, empty Bus whose session entries live `sessionTtlMs`. Several calls with the same `scope` share state, as processes share one Redis. */
  open(o: { sessionTtlMs: number; scope: string }): Promise<Bus>;
  /** Called once after the suite. */
  done?(): Promise<void>;
}

const info = (role: ProcessInfo["role"], id: string, stats: Record<string, number> = {}): ProcessInfo => ({
  role,
  id,
  addr: id,
  pid: 1,
  version: "t",
  startedAt: 1,
  ts: Date.now(),
  stats,
});

export function runBusSuite(name: string, factory: BusFactory): void {
  let n = 0;
  const scope = () => `${name}-${process.pid}-${++n}`;

  describe(`Bus conformance: ${name}`, { concurrency: false }, () => {
    test("session directory: claim returns the previous owner; lookup and online see the entry", async () => {
      const bus = await factory.open({ sessionTtlMs: 5000, scope: scope() });
      try {
        assert.deepEqual(await bus.sessions.claim("alice", { serverId: "s1", connId: "c1" }), { taken: true, previous: null });
        assert.deepEqual(await bus.sessions.lookup("alice"), { serverId: "s1", connId: "c1" });
        assert.deepEqual(await bus.sessions.claim("alice", { serverId: "s2", connId: "c9" }), { taken: true, previous: { serverId: "s1", connId: "c1" } });
        assert.deepEqual(await bus.sessions.lookup("alice"), { serverId: "s2", connId: "c9" });
        await bus.sessions.claim("bob", { serverId: "s1", connId: "c2" });
        await bus.sessions.claim("carol", { serverId: "s1", connId: "c3" });
        assert.deepEqual(await bus.sessions.online(100), ["alice", "bob", "carol"]);
        const two = await bus.sessions.online(2);
        assert.equal(two.length, 2);
        assert.deepEqual(two, [...two].sort(), "sorted");
        assert.equal(await bus.sessions.lookup("nobody"), null);
      } finally {
        await bus.close();
      }
    });

    test("session directory: a claim older than the entry's login is refused and names the holder; equal or newer takes it", async () => {
      const bus = await factory.open({ sessionTtlMs: 5000, scope: scope() });
      try {
        const newer = { serverId: "s2", connId: "c2", at: 2_000_000_000_000 };
        assert.deepEqual(await bus.sessions.claim("alice", newer), { taken: true, previous: null });
        // The partition case: a claim that timed out on s1 reaches Redis after s2's newer login.
        const stale = { serverId: "s1", connId: "c1", at: newer.at - 1500 };
        assert.deepEqual(await bus.sessions.claim("alice", stale), { taken: false, holder: newer });
        assert.deepEqual(await bus.sessions.lookup("alice"), newer, "the newer login keeps the entry");
        assert.deepEqual(await bus.sessions.refreshAll([{ clientId: "alice", loc: stale }]), ["alice"], "the stale copy learns at its refresh that it lost");
        // The same millisecond (a re-login on one server) and later ones take it.
        const same = { serverId: "s2", connId: "c3", at: newer.at };
        assert.deepEqual(await bus.sessions.claim("alice", same), { taken: true, previous: newer });
        const later = { serverId: "s1", connId: "c4", at: newer.at + 1 };
        assert.deepEqual(await bus.sessions.claim("alice", later), { taken: true, previous: same });
        // Entries without a time (written before login times existed) are the oldest.
        await bus.sessions.claim("bob", { serverId: "s1", connId: "c5" });
        assert.deepEqual(await bus.sessions.claim("bob", { serverId: "s2", connId: "c6", at: 1 }), { taken: true, previous: { serverId: "s1", connId: "c5" } });
        assert.deepEqual(await bus.sessions.claim("bob", { serverId: "s1", connId: "c7" }), { taken: false, holder: { serverId: "s2", connId: "c6", at: 1 } });
        // Release and refresh compare the whole location, time included.
        await bus.sessions.release("alice", { serverId: "s1", connId: "c4" });
        assert.deepEqual(await bus.sessions.lookup("alice"), later, "a release without the login time is not ours");
        await bus.sessions.release("alice", later);
        assert.equal(await bus.sessions.lookup("alice"), null);
      } finally {
        await bus.close();
      }
    });

    test("session directory: release only removes our own entry", async () => {
      const bus = await factory.open({ sessionTtlMs: 5000, scope: scope() });
      try {
        await bus.sessions.claim("alice", { serverId: "s1", connId: "c1" });
        await bus.sessions.claim("alice", { serverId: "s2", connId: "c2" });
        await bus.sessions.release("alice", { serverId: "s1", connId: "c1" });
        assert.deepEqual(await bus.sessions.lookup("alice"), { serverId: "s2", connId: "c2" }, "a stale logout must not unregister the newer login");
        await bus.sessions.release("alice", { serverId: "s2", connId: "c2" });
        assert.equal(await bus.sessions.lookup("alice"), null);
      } finally {
        await bus.close();
      }
    });

    test("session directory: entries expire unless refreshed; refresh re-creates vanished ones and reports taken ones", async () => {
      const bus = await factory.open({ sessionTtlMs: 300, scope: scope() });
      try {
        const a = { serverId: "s1", connId: "c1" };
        await bus.sessions.claim("alice", a);
        await bus.sessions.claim("bob", { serverId: "s1", connId: "c2" });
        await bus.sessions.claim("carol", { serverId: "s1", connId: "c3" });
        await bus.sessions.claim("carol", { serverId: "s2", connId: "c7" }); // carol moved to s2
        await sleep(150);
        const lost = await bus.sessions.refreshAll([
          { clientId: "alice", loc: a },
          { clientId: "carol", loc: { serverId: "s1", connId: "c3" } },
          { clientId: "dave", loc: { serverId: "s1", connId: "c4" } }, // vanished: re-created
        ]);
        assert.deepEqual(lost, ["carol"]);
        assert.deepEqual(await bus.sessions.lookup("carol"), { serverId: "s2", connId: "c7" }, "refresh never takes an entry back");
        await sleep(200);
        assert.deepEqual(await bus.sessions.lookup("alice"), a, "refreshed entries outlive their first TTL");
        assert.deepEqual(await bus.sessions.lookup("dave"), { serverId: "s1", connId: "c4" });
        assert.equal(await bus.sessions.lookup("bob"), null, "bob was not refreshed and expired");
      } finally {
        await bus.close();
      }
    });

    test("session directory: a refresh of more sessions than one script call takes reports exactly the taken ones", async () => {
      const bus = await factory.open({ sessionTtlMs: 2000, scope: scope() });
      try {
        // 1,250 sessions span several REFRESH_MANY calls of 200 keys (standalone Redis) and cross
        // shards on a cluster; the taken ones sit at each call's edges.
        const n = 1250;
        const taken = new Set([0, 199, 200, 1001, n - 1]);
        const loc = (i: number) => ({ serverId: "s1", connId: `c${i}` });
        for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => bus.sessions.claim(`u${i + j}`, loc(i + j))));
        for (const i of taken) await bus.sessions.claim(`u${i}`, { serverId: "s2", connId: `d${i}` });
        const lost = await bus.sessions.refreshAll(Array.from({ length: n }, (_, i) => ({ clientId: `u${i}`, loc: loc(i) })));
        assert.deepEqual([...lost].sort(), [...taken].map((i) => `u${i}`).sort());
        assert.deepEqual(await bus.sessions.lookup("u1000"), loc(1000));
        assert.deepEqual(await bus.sessions.lookup("u1001"), { serverId: "s2", connId: "d1001" }, "refresh never takes an entry back");
      } finally {
        await bus.close();
      }
    });

    test("registry: announce marks alive for the TTL, withdraw at once; list filters by role", async () => {
      const bus = await factory.open({ sessionTtlMs: 5000, scope: scope() });
      try {
        await bus.registry.announce(info("msg_server", "ms1", { connections: 3 }), 300);
        await bus.registry.announce(info("msg_server", "ms2"), 5000);
        await bus.registry.announce(info("router", "r1"), 5000);
        const all = await bus.registry.list();
        assert.equal(all.length, 3);
        const ms = await bus.registry.list("msg_server");
        assert.deepEqual(ms.map((e) => e.info.id).sort(), ["ms1", "ms2"]);
        assert.ok(ms.every((e) => e.alive));
        assert.equal(ms.find((e) => e.info.id === "ms1")!.info.stats.connections, 3);
        await bus.registry.withdraw("msg_server", "ms2");
        await waitFor("ms1 expired", async () => {
          const l = await bus.registry.list("msg_server");
          return l.length === 2 && l.every((e) => !e.alive);
        }, 3000);
        const r = await bus.registry.list("router");
        assert.deepEqual(r.map((e) => [e.info.id, e.alive]), [["r1", true]], "a dead process's entry stays listed, marked down");
      } finally {
        await bus.close();
      }
    });

    test("registry: entries gone for over an hour are forgotten by readers", async () => {
      const bus = await factory.open({ sessionTtlMs: 5000, scope: scope() });
      try {
        await bus.registry.announce({ ...info("gateway", "old"), ts: Date.now() - 2 * 3600_000 }, 1);
        await sleep(20);
        assert.deepEqual(await bus.registry.list("gateway"), []);
      } finally {
        await bus.close();
      }
    });

    test("control: a message reaches the named server only, across bus instances", async () => {
      const s = scope();
      const a = await factory.open({ sessionTtlMs: 5000, scope: s });
      const b = await factory.open({ sessionTtlMs: 5000, scope: s });
      try {
        const gotA: ControlMessage[] = [];
        const gotB: ControlMessage[] = [];
        await a.control.listen("srvA", (m) => gotA.push(m));
        await b.control.listen("srvB", (m) => gotB.push(m));
        await a.control.send("srvB", { type: "kick", clientId: "alice", connId: "c-1" });
        await waitFor("kick delivered", () => gotB.length === 1, 3000);
        assert.deepEqual(gotB, [{ type: "kick", clientId: "alice", connId: "c-1" }]);
        // A notice relay survives the trip: both lists and the notice (in its line form).
        const relay = { type: "relay" as const, to: ["bob", "carol"], topics: ["golang"], except: "alice", notice: { kind: "typing" as const, from: "alice", topic: "golang" } };
        await a.control.send("srvB", relay);
        await waitFor("relay delivered", () => gotB.length === 2, 3000);
        assert.deepEqual(gotB[1], relay);
        await sleep(50);
        assert.deepEqual(gotA, []);
      } finally {
        await a.close();
        await b.close();
      }
    });

    test("revocations: listed until they expire, and seen by every watcher", async () => {
      const s = scope();
      const a = await factory.open({ sessionTtlMs: 5000, scope: s });
      const b = await factory.open({ sessionTtlMs: 5000, scope: s });
      try {
        const seen: string[] = [];
        await b.revocations.watch((r) => seen.push(`${r.kind}:${r.key}`));
        const now = Date.now();
        await a.revocations.revoke({ kind: "token", key: "jti-1", atMs: now, untilMs: now + 60_000 });
        await a.revocations.revoke({ kind: "user", key: "mallory", atMs: now, untilMs: now + 200 });
        await waitFor("both events", () => seen.length === 2, 3000);
        assert.deepEqual(seen.sort(), ["token:jti-1", "user:mallory"]);
        assert.deepEqual((await b.revocations.all()).map((r) => r.key).sort(), ["jti-1", "mallory"]);
        await sleep(300);
        assert.deepEqual((await b.revocations.all()).map((r) => r.key), ["jti-1"], "expired entries are gone");
      } finally {
        await a.close();
        await b.close();
      }
    });

    test("v1 cache: session entries are dropped only when they still name the server", async () => {
      const bus = await factory.open({ sessionTtlMs: 5000, scope: scope() });
      try {
        await bus.v1.putSession("alice", { ClientID: "alice", MsgServerAddr: "s2" }, 5000);
        assert.equal(await bus.v1.dropSessionIfServer("alice", "s1"), false);
        assert.deepEqual(await bus.v1.getSession("alice"), { ClientID: "alice", MsgServerAddr: "s2" });
        assert.equal(await bus.v1.dropSessionIfServer("alice", "s2"), true);
        assert.equal(await bus.v1.getSession("alice"), null);
        await bus.v1.putTopic("golang", { TopicName: "golang", MemberList: [{ ID: "a" }] }, 200);
        assert.deepEqual(await bus.v1.getTopic("golang"), { TopicName: "golang", MemberList: [{ ID: "a" }] });
        await sleep(300);
        assert.equal(await bus.v1.getTopic("golang"), null, "cache entries expire");
      } finally {
        await bus.close();
      }
    });
  });
}
