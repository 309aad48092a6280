import test from "node:test";
import assert from "node:assert/strict";
import type { FishChatClient, TopicMessage } from "../../shared/client/client.js";
import { startCluster, statsOf, type Cluster, type ServiceProc } from "../support/cluster.js";
import { waitFor } from "../support/ports.js";
import { verify } from "../support/reconnecting.js";
import { Tracker } from "../support/tracker.js";

/**
 * Several routers at once (docs/ARCHITECTURE.md "Deployment"): each msg_server hands a routed
 * message to one router, chosen by rendezvous hashing of the recipient (topic) over the routers
 * linked to it, so every message is forwarded once; when a router dies, the recipients' servers
 * read the store for what it held (MsgServer.repairRoutes), and positions keep duplicates out.
 */

/** Recipients per direction: enough that both routers win some (a miss is 2^-15 likely). */
const PAIRS = 8;

interface Pair {
  tracker: Tracker;
  tx: FishChatClient;
  to: string;
}

/** PAIRS senders on each server, each with its own recipient on the other server. */
async function crossPairs(cl: Cluster, tag: string): Promise<Pair[]> {
  const [a, b] = cl.msgServers as [ServiceProc, ServiceProc];
  const pairs: Pair[] = [];
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    for (let i = 0; i < PAIRS; i++) {
      const tracker = new Tracker();
      const rxId = `rx-${tag}-${from.port}-${i}`;
      await cl.client(rxId, { via: to.addr, heartbeatMs: 500, setup: (c) => tracker.watch(c) });
      const tx = await cl.client(`tx-${tag}-${from.port}-${i}`, { via: from.addr, heartbeatMs: 500 });
      pairs.push({ tracker, tx, to: rxId });
    }
  }
  return pairs;
}

const sum = async (procs: ServiceProc[], key: string) => (await Promise.all(procs.map(async (p) => (await statsOf(p))[key] ?? 0))).reduce((x, y) => x + y, 0);

test("two routers, two msg_servers", { timeout: 120_000 }, async (t) => {
  // The store sweep is slowed to a minute, so only the route repair can bring back what a dead router held.
  const cl = await startCluster(t, { msgServers: 2, routers: 2, conf: { msg_server: { inboxSweepMs: 60_000 } } });
  const [r1, r2] = cl.routers as [ServiceProc, ServiceProc];

  await t.test("each routed message is forwarded by exactly one router, and both share the work", async () => {
    const pairs = await crossPairs(cl, "once");
    const N = 20;
    await Promise.all(pairs.map((p) => p.tracker.sendAll(() => p.tx, p.to, 0, N)));
    for (const p of pairs) await verify(p.tracker, N);
    const routedOut = await sum(cl.msgServers, "routedOut");
    assert.equal(routedOut, pairs.length * N, "every message crossed servers through a router");
    const [in1, in2] = [(await statsOf(r1)).p2pIn ?? 0, (await statsOf(r2)).p2pIn ?? 0];
    assert.equal(in1 + in2, routedOut, `routers received ${in1} + ${in2}: each message went to one router`);
    assert.ok(in1 > 0 && in2 > 0, `both routers forward (${in1}, ${in2})`);
    for (const p of pairs) p.tx.close();
  });

  await t.test("a topic's messages go through one router", async () => {
    const [a, b] = cl.msgServers as [ServiceProc, ServiceProc];
    const owner = await cl.client("topic-owner", { via: a.addr });
    const member = await cl.client("topic-member", { via: b.addr });
    const got: TopicMessage[] = [];
    member.on("topic", (m: TopicMessage) => got.push(m));
    await owner.request({ name: "CREATE_TOPIC", args: ["two-routers"] });
    await member.request({ name: "JOIN_TOPIC", args: ["two-routers", "topic-member"] });
    const before = await sum(cl.routers, "topicIn");
    for (let i = 0; i < 10; i++) await owner.sendTopic("two-routers", `t${i}`);
    await waitFor("the member on the other server gets all 10", () => got.length === 10);
    assert.deepEqual(got.map((m) => m.body), Array.from({ length: 10 }, (_, i) => `t${i}`));
    assert.equal((await sum(cl.routers, "topicIn")) - before, 10, "10 topic messages, 10 router receptions");
  });

  await t.test("a router SIGKILLed mid-traffic: 0 acknowledged lost, 0 duplicates, 0 out of order", async () => {
    const pairs = await crossPairs(cl, "kill");
    const N = 150;
    const sending = Promise.all(pairs.map((p) => p.tracker.sendAll(() => p.tx, p.to, 0, N, 5)));
    await waitFor("traffic flowing", () => pairs.every((p) => p.tracker.acked.size > N / 4), 30_000);
    const repairsBefore = await sum(cl.msgServers, "routeRepairs");
    await r1.kill("SIGKILL");
    await sending;
    for (const p of pairs) await verify(p.tracker, N);
    assert.ok((await sum(cl.msgServers, "routeRepairs")) >= repairsBefore + 2, "both msg_servers repaired the dead router's routes");
    const r2in = (await statsOf(r2)).p2pIn ?? 0;
    assert.ok(r2in > 0, "the surviving router took over");
  });

  await t.test("the router comes back and takes its share again", async () => {
    await r1.start();
    await cl.routerReady();
    const pairs = await crossPairs(cl, "back");
    await Promise.all(pairs.map((p) => p.tracker.sendAll(() => p.tx, p.to, 0, 10)));
    for (const p of pairs) await verify(p.tracker, 10);
    assert.ok(((await statsOf(r1)).p2pIn ?? 0) > 0, "the restarted router forwards again");
  });

  await t.test("a frozen router dies holding messages, no traffic follows: the route repair delivers them", async () => {
    const pairs = await crossPairs(cl, "frozen");
    // Held, not forwarded: they reach its socket and stay there. Nothing sent afterwards shows a gap.
    r2.proc!.kill("SIGSTOP");
    await Promise.all(pairs.map((p) => p.tracker.sendAll(() => p.tx, p.to, 0, 5)));
    await r2.kill("SIGKILL");
    for (const p of pairs) await verify(p.tracker, 5);
  });
});
