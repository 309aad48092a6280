import assert from "node:assert/strict";
import test from "node:test";
import type { FishChatClient } from "../../shared/client/client.js";
import { redisKeys } from "../../shared/bus/keys.js";
import { decodeLocation } from "../../shared/bus/session-directory.js";
import { startCluster, type ServiceProc } from "../support/cluster.js";
import { sleep, waitFor } from "../support/ports.js";
import { startRedisCluster } from "../support/redis-cluster.js";
import { Tracker } from "../support/tracker.js";

/**
 * FishChat on a Redis Cluster (docs/REDIS.md): real processes (2 msg_servers, router, gateway)
 * whose conf files list the cluster's seeds in `redis.cluster`, on six redis-server nodes (three
 * masters with a replica each). A master is SIGKILLed while messages flow between the servers:
 * the one serving the registry's slot and some receivers' session keys. Its replica takes over;
 * every acknowledged message must reach its recipient exactly once and in order, and the
 * msg_servers must re-register their sessions.
 */

const keys = redisKeys("fc:");

interface Pair {
  rx: string;
  tx: string;
  rxOn: ServiceProc;
  tracker: Tracker;
  rxClient: FishChatClient;
  txClient: FishChatClient;
  next: number;
}

test("a Redis Cluster master SIGKILLed mid-traffic: replica takes over, every acknowledged message delivered once, sessions re-registered", { timeout: 120_000 }, async (t) => {
  const rc = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  t.after(() => rc.stop());
  const cl = await startCluster(t, { msgServers: 2, redisCluster: rc });
  const [a, b] = cl.msgServers as [ServiceProc, ServiceProc];
  const probe = rc.client();

  // The victim serves the registry's slot; two receivers keep their session keys on it, two elsewhere.
  const victim = await rc.masterFor(keys.registry);
  const onVictim: string[] = [];
  const elsewhere: string[] = [];
  for (let i = 0; onVictim.length < 2 || elsewhere.length < 2; i++) {
    const id = `rx${i}`;
    const list = (await rc.masterFor(keys.session(id))) === victim ? onVictim : elsewhere;
    if (list.length < 2) list.push(id);
  }

  const closed: string[] = [];
  const pairs: Pair[] = [];
  for (const [i, rx] of [...onVictim, ...elsewhere].entries()) {
    const [rxOn, txOn] = i % 2 === 0 ? [a, b] : [b, a];
    const tracker = new Tracker();
    const rxClient = await cl.client(rx, { via: rxOn.addr, heartbeatMs: 500, setup: (c) => tracker.watch(c) });
    const txClient = await cl.client(`tx-${rx}`, { via: txOn.addr, heartbeatMs: 500 });
    for (const [id, c] of [[rx, rxClient], [`tx-${rx}`, txClient]] as const) c.once("close", () => closed.push(id));
    pairs.push({ rx, tx: `tx-${rx}`, rxOn, tracker, rxClient, txClient, next: 0 });
  }

  // Steady traffic: each sender sends to its receiver on the other msg_server, in order, every ~10 ms.
  let sending = true;
  const loops = pairs.map(async (p) => {
    while (sending) {
      await p.tracker.sendAll(() => p.txClient, p.rx, p.next, 5, 10);
      p.next += 5;
    }
  });
  const acked = () => pairs.reduce((n, p) => n + p.tracker.acked.size, 0);
  await waitFor("traffic flowing", () => pairs.every((p) => p.tracker.acked.size >= 20), 20_000);

  const logBefore = cl.msgServers.map((m) => m.log().length);
  const ackedAtKill = acked();
  const t0 = Date.now();
  const killed = await rc.killMaster((await rc.masters()).indexOf(victim));
  assert.equal(killed, victim);
  await rc.waitForFailover();
  const failoverMs = Date.now() - t0;
  const ackedDuringFailover = acked() - ackedAtKill;
  await sleep(2000);
  sending = false;
  await Promise.all(loops);
  t.diagnostic(`failover in ${failoverMs} ms; ${acked()} messages acknowledged, ${ackedDuringFailover} of them while the shard failed over`);
  assert.ok(ackedDuringFailover > 10, "messages were acknowledged while the master was down");

  for (const p of pairs) {
    const tr = p.tracker;
    await waitFor(`${p.rx}: all ${tr.acked.size} acknowledged messages delivered (lost so far: ${tr.lost().length})`, () => tr.lost().length === 0, 30_000, 100);
    assert.deepEqual(tr.storedTwice(), [], `${p.rx}: no message stored twice`);
    assert.equal(tr.sameConnDuplicates, 0, `${p.rx}: no uuid twice on one connection`);
    assert.deepEqual([...tr.seen.values()].filter((n) => n !== 1), [], `${p.rx}: every message delivered exactly once`);
    assert.equal(tr.seen.size, tr.acked.size, `${p.rx}: nothing delivered that was not acknowledged`);
    assert.equal(tr.reordered(), 0, `${p.rx}: sender order kept`);
  }
  assert.deepEqual(closed, [], "no client was disconnected by the Redis failover");

  // Sessions re-registered: both msg_servers ran their onReconnect refresh after the kill, and
  // every client's entry names its server, the receivers on the promoted master included.
  for (const [i, m] of cl.msgServers.entries()) {
    await waitFor(`${m.addr} re-registered after the failover`, () => m.log().slice(logBefore[i]).includes("re-registering"), 10_000);
  }
  for (const p of pairs) {
    const txOn = p.rxOn === a ? b : a;
    for (const [id, on] of [[p.rx, p.rxOn], [p.tx, txOn]] as const) {
      const loc = await waitFor(`session of ${id}`, async () => decodeLocation(await probe.get(keys.session(id))), 10_000);
      assert.equal(loc.serverId, on.addr, `${id} is registered on its msg_server`);
    }
  }
  const online = await pairs[0]!.rxClient.request({ name: "ONLINE_USERS", args: ["100"] });
  assert.deepEqual(online.args.slice(1), pairs.flatMap((p) => [p.rx, p.tx]).sort(), "ONLINE_USERS lists every client, from every shard");
});
