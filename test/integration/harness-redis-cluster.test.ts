import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Cluster } from "ioredis";
import { createNetwork, type Host, netnsAvailable } from "../support/netns.js";
import { sleep } from "../support/ports.js";
import { startRedisCluster, type RedisClusterNode, type TestRedisCluster } from "../support/redis-cluster.js";
import { parseInfo } from "../support/redis-cluster-topology.js";

/**
 * The Redis Cluster harness (test/support/redis-cluster.ts) proven on its own: six real
 * redis-server processes, three masters with a replica each, keys on every master, and a killed
 * (or partitioned) master's replica taking over with the data it had acknowledged.
 */

async function role(c: TestRedisCluster, node: RedisClusterNode): Promise<Record<string, string>> {
  const r = c.nodeClient(node);
  try {
    return parseInfo(await r.info("replication"));
  } finally {
    r.disconnect();
  }
}

/** Write keys on `node` directly and WAIT until its replica has them; returns key -> value. */
async function writeReplicated(c: TestRedisCluster, node: RedisClusterNode, n: number, prefix: string): Promise<Map<string, string>> {
  const keys = await c.keysOn(node, n, prefix);
  const direct = c.nodeClient(node);
  const data = new Map(keys.map((k, i) => [k, `v${i}`]));
  for (const [k, v] of data) await direct.set(k, v);
  // WAIT counts the replicas that have every write of this connection so far.
  assert.equal(await direct.call("WAIT", "1", "5000"), 1, "the replica acknowledged the writes");
  direct.disconnect();
  return data;
}

async function assertAll(client: Cluster, data: Map<string, string>): Promise<void> {
  const keys = [...data.keys()];
  const got = await Promise.all(keys.map((k) => client.get(k)));
  assert.deepEqual(got, keys.map((k) => data.get(k)));
}

/** Writes across all slots until stopped; counts what succeeded and failed. */
function traffic(client: Cluster): { stop: () => Promise<{ ok: number; failed: number; okAfter: (t: number) => number }> } {
  let running = true;
  const okAt: number[] = [];
  let failed = 0;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      try {
        await client.set(`traffic:${i}`, String(i));
        okAt.push(Date.now());
      } catch {
        failed++;
        await sleep(20);
      }
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { ok: okAt.length, failed, okAfter: (t) => okAt.filter((x) => x > t).length };
    },
  };
}

// A hang (a command waiting on a partitioned node) fails the test instead of the whole run.
const LIMIT = { timeout: 60_000 };

describe("Redis Cluster harness", () => {
  test("six nodes, three masters with a replica each, serve keys on every master through ioredis Cluster", LIMIT, async (t) => {
    const c = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    t.after(() => c.stop());
    assert.equal(c.nodes.length, 6);
    for (const n of c.nodes) {
      assert.ok(n.port < 32768 && n.busPort < 32768, `ports ${n.port}/${n.busPort} below the ephemeral range`);
      assert.notEqual(n.port, 6379, "never the machine's Redis");
    }
    assert.deepEqual(
      c.seeds().map((s) => s.host),
      Array(6).fill("127.0.0.1"),
    );
    const masters = await c.masters();
    assert.equal(masters.length, 3);
    for (const m of masters) assert.equal((await role(c, m)).connected_slaves, "1", `master ${m.index} has one replica`);

    const client = c.client();
    const data = new Map(Array.from({ length: 300 }, (_, i) => [`key:${i}`, `value-${i}`]));
    for (const [k, v] of data) await client.set(k, v);
    await assertAll(client, data);
    let total = 0;
    for (const m of masters) {
      const r = c.nodeClient(m);
      const size = await r.dbsize();
      r.disconnect();
      assert.ok(size > 30, `master ${m.index} holds ${size} keys`);
      total += size;
    }
    assert.equal(total, 300);
    // masterFor() names the node that answers the key without a redirect.
    const owner = await c.masterFor("key:7");
    const direct = c.nodeClient(owner);
    assert.equal(await direct.get("key:7"), "value-7");
    direct.disconnect();
  });

  test("a master SIGKILLed mid-traffic: its replica takes over with WAIT-acknowledged data intact", LIMIT, async (t) => {
    const c = await startRedisCluster();
    t.after(() => c.stop());
    const victim = (await c.masters())[0]!;
    const data = await writeReplicated(c, victim, 50, "kept");
    const client = c.client();
    const load = traffic(client);
    await sleep(300);

    const t0 = Date.now();
    const killed = await c.killMaster(0);
    assert.equal(killed, victim);
    assert.ok(!killed.running());
    const promoted = await c.waitForFailover();
    const took = Date.now() - t0;
    t.diagnostic(`failover in ${took} ms (cluster-node-timeout ${c.nodeTimeoutMs} ms)`);
    assert.notEqual(promoted, victim);
    assert.equal((await role(c, promoted)).role, "master");
    assert.ok((await c.masters()).includes(promoted));
    assert.ok(took < 15_000, `failover took ${took} ms`);

    await sleep(500);
    const counts = await load.stop();
    t.diagnostic(`traffic: ${counts.ok} writes ok, ${counts.failed} failed during the failover`);
    assert.ok(counts.okAfter(t0 + took) > 0, "writes succeed again after the failover");
    await assertAll(client, data);
    const [fresh] = await c.keysOn(promoted, 1, "fresh");
    await client.set(fresh!, "after");
    assert.equal(await client.get(fresh!), "after");

    // The old master comes back as a replica of the one that replaced it.
    await c.restartNode(killed);
    await c.waitHealthy();
    const back = await role(c, killed);
    assert.equal(back.role, "slave");
    assert.equal(Number(back.master_port), promoted.port);
  });

  const reason = netnsAvailable();
  test(reason ? `a cluster across network-namespace hosts (skipped: ${reason})` : "a cluster across network-namespace hosts fails over when a master's host is partitioned", { ...LIMIT, skip: reason ?? false }, async (t) => {
    const net = await createNetwork({ hosts: ["r1", "r2", "r3", "r4", "r5", "r6", "app"] });
    t.after(() => net.destroy());
    const app = net.host("app");
    const c = await startRedisCluster({ hosts: net.hosts.filter((h) => h !== app), clientHost: app });
    t.after(() => c.stop());
    assert.deepEqual(
      c.seeds().map((s) => `${s.host}:${s.port}`),
      net.hosts.slice(0, 6).map((h) => `${h.addr}:7000`),
    );
    const client = c.client();
    for (let i = 0; i < 100; i++) await client.set(`k${i}`, String(i));
    assert.equal(await client.get("k42"), "42");

    const victim = (await c.masters())[1]!;
    const data = await writeReplicated(c, victim, 20, "kept");
    const expected = await c.expectFailover(victim);
    await net.partition(victim.netHost as Host);
    const promoted = await expected.wait();
    assert.notEqual(promoted, victim);
    assert.equal((await role(c, promoted)).role, "master");
    // A client on the app host: the old master is unreachable from there, and a fresh client
    // finds the promoted replica serving its slots (the first client's commands already sent
    // to the old master would wait for it, as on a real network).
    const after = c.client({ redisOptions: { commandTimeout: 3000 } });
    await assertAll(after, data);

    await net.heal(victim.netHost as Host);
    await c.waitHealthy();
    assert.equal((await role(c, victim)).role, "slave", "the healed old master rejoins as a replica");
  });
});
