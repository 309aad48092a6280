/**
 * The Bus on Redis Sentinel (a master, one replica and three sentinels, real redis-server
 * processes, test/support/redis-sentinel.ts): the conformance suite, then a master failover.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Redis } from "ioredis";
import type { Bus } from "../../shared/bus/bus.js";
import type { ControlMessage } from "../../shared/bus/control-bus.js";
import { createRedis } from "../../shared/bus/redis.js";
import { openRedisBus } from "../../shared/bus/redis-bus.js";
import { redisSchema } from "../../shared/config/common.js";
import { captureLogger } from "../support/log-sink.js";
import { sleep, waitFor } from "../support/ports.js";
import { startRedisSentinel, type TestRedisSentinel } from "../support/redis-sentinel.js";
import { runBusSuite } from "./bus.suite.js";

let rs: TestRedisSentinel;
before(async () => {
  rs = await startRedisSentinel({ replicas: 1, sentinels: 3 });
});
after(async () => {
  await rs.stop();
});

const open = (keyPrefix: string, name: string, sessionTtlMs: number): Bus =>
  openRedisBus(redisSchema.parse({ sentinel: { name: rs.name, nodes: rs.seeds() }, keyPrefix }), captureLogger().log, { name, sessionTtlMs });

runBusSuite("redis-sentinel", {
  open: async ({ sessionTtlMs, scope }) => open(`t:${scope}:`, `conformance-${scope}`, sessionTtlMs),
});

describe("Redis Sentinel Bus across a master failover", () => {
  test("the master SIGKILLed: the replica is promoted, replicated entries survive, onReconnect fires, control messages flow again", { timeout: 90_000 }, async (t) => {
    const prefix = `t:failover-${process.pid}:`;
    const a = open(prefix, "failover-a", 60_000);
    const b = open(prefix, "failover-b", 60_000);
    t.after(async () => {
      await a.close();
      await b.close();
    });
    const got: ControlMessage[] = [];
    await b.control.listen("srvB", (m) => got.push(m));
    await a.control.send("srvB", { type: "kick", clientId: "x", connId: "before" });
    await waitFor("control message before the failover", () => got.length === 1, 5000);

    const entries = Array.from({ length: 30 }, (_, i) => ({ clientId: `user${i}`, loc: { serverId: "ms1", connId: `c${i}` } }));
    for (const e of entries) await a.sessions.claim(e.clientId, e.loc);
    await a.registry.announce({ role: "msg_server", id: "ms1", addr: "ms1", pid: 1, version: "t", startedAt: 1, ts: Date.now(), stats: {} }, 60_000);
    const first = await rs.master();
    const direct = rs.serverClient(first);
    // WAIT covers this connection's writes; replication is one ordered stream, so ours covers the Bus's.
    await direct.set("wait-marker", "1");
    assert.equal(await direct.call("WAIT", "1", "5000"), 1, "the replica acknowledged");
    direct.disconnect();

    let fired = 0;
    a.onReconnect(() => fired++);
    const t0 = Date.now();
    const killed = await rs.killMaster();
    assert.equal(killed, first);
    const promoted = await rs.waitForFailover();
    assert.notEqual(promoted, killed);
    t.diagnostic(`failover in ${Date.now() - t0} ms`);
    await waitFor("onReconnect fired once the Bus reached the new master", () => fired > 0, 15_000);
    t.diagnostic(`onReconnect fired ${Date.now() - t0} ms after the kill`);

    for (const e of entries) assert.deepEqual(await a.sessions.lookup(e.clientId), e.loc, `session ${e.clientId}`);
    assert.deepEqual((await a.registry.list("msg_server")).map((r) => r.info.id), ["ms1"]);
    assert.deepEqual(await a.sessions.online(100), entries.map((e) => e.clientId).sort());
    // Writes go to the new master.
    await a.sessions.claim("after", { serverId: "ms1", connId: "z" });
    const onNew = rs.serverClient(promoted);
    assert.equal(await onNew.get(`${prefix}sess:after`), "ms1|z");
    onNew.disconnect();

    await waitFor(
      "a control message after the failover",
      async () => {
        await a.control.send("srvB", { type: "kick", clientId: "x", connId: "after" }).catch(() => undefined);
        await sleep(100);
        return got.some((m) => m.type === "kick" && m.connId === "after");
      },
      15_000,
      100,
    );
  });
});

describe("a Sentinel client that ioredis gives up on (redis/ioredis#1683)", () => {
  test("told to disconnect while it asks a sentinel for the master, it and its duplicates connect again by themselves; a client we close stays closed", { timeout: 30_000 }, async (t) => {
    const cfg = redisSchema.parse({ sentinel: { name: rs.name, nodes: rs.seeds() } });
    const main = createRedis(cfg, captureLogger().log, "revive-test");
    const dup = main.duplicate();
    t.after(() => {
      main.disconnect();
      dup.disconnect();
    });
    for (const [i, c] of ([main, dup] as Redis[]).entries()) {
      await waitFor("client ready", () => c.status === "ready", 10_000);
      // What the failover detector of the previous connection does when +switch-master arrives
      // while a reconnection is resolving the master: it disconnects the connector.
      // (events.once would reject on the "error" ioredis emits before "end".)
      const event = (name: string) => new Promise<void>((r) => c.once(name, () => r()));
      const connecting = event("connecting");
      c.disconnect(true);
      await connecting;
      const ended = event("end");
      (c as unknown as { connector: { disconnect(): void } }).connector.disconnect();
      await ended;
      assert.equal(c.status, "end", "ioredis gave the client up (the race is reproduced)");
      const t0 = Date.now();
      assert.equal(await waitFor("the client back", async () => (c.status === "ready" ? c.ping() : null), 10_000, 20), "PONG");
      t.diagnostic(`${i === 0 ? "the client" : "its duplicate"}: back ${Date.now() - t0} ms after ioredis gave it up`);
    }
    main.disconnect();
    await sleep(500);
    assert.equal(main.status, "end", "a client we closed is not revived");
  });
});
