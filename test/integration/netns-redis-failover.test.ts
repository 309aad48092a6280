import assert from "node:assert/strict";
import test, { type TestContext } from "node:test";
import type { FishChatClient } from "../../shared/client/client.js";
import { redisKeys } from "../../shared/bus/keys.js";
import { decodeLocation } from "../../shared/bus/session-directory.js";
import { netnsAvailable } from "../support/netns.js";
import { startNetnsCluster, type NetnsCluster } from "../support/netns-cluster.js";
import type { NsProc } from "../support/netns-proc.js";
import { sleep, waitFor } from "../support/ports.js";
import { quantile, SteadyTraffic } from "../support/steady.js";
import { Tracker } from "../support/tracker.js";

/**
 * A Redis master failover across namespace hosts (issue 12): FishChat on Redis Sentinel, the
 * master on host "redis", its replica on "redis2", three sentinels (those two hosts and
 * "infra"), msg_servers on "ms1" and "ms2". During steady traffic both ways between the two
 * servers, the master is lost, first by a SIGKILL of its redis-server, then (on the other host,
 * after the killed one came back as a replica) by cutting its host off the network. The replica
 * is promoted; every acknowledged message must be delivered exactly once and in order, no
 * client may be disconnected, and every session must be registered on the new master, also the
 * ones the promoted replica never received, well before the periodic refresh would have put
 * them there (so only the re-registration on failover can).
 */

const reason = netnsAvailable();
const keys = redisKeys("fc:");
/** The periodic session refresh runs every sessionTtlMs / 3 = 20 s: longer than the bound below. */
const SESSION_TTL_MS = 60_000;
/** From the promotion until every session is on the new master. */
const REREGISTER_BOUND_MS = 10_000;
/**
 * The same after a cut, where the old master's connection never closes by itself: ioredis'
 * default 2 s wait for it (and 2 s for a dead sentinel asked first) made this 4.2 s; with
 * shared/bus/redis.ts's shorter timeouts it measured 0.4-0.9 s.
 */
const CUT_REREGISTER_BOUND_MS = 2000;

interface Pair {
  rx: string;
  rxOn: number;
  tracker: Tracker;
  tx: FishChatClient;
}

/** Four sender/recipient pairs across the two msg_servers (both directions) and their traffic. */
async function traffic(cl: NetnsCluster, tag: string, closed: string[]) {
  const pairs: Pair[] = [];
  const clients: FishChatClient[] = [];
  for (let i = 0; i < 4; i++) {
    const rxOn = i % 2;
    const tracker = new Tracker();
    const rx = await cl.client(rxOn, `rx-${tag}-${i}`, (c) => tracker.watch(c));
    const tx = await cl.client(1 - rxOn, `tx-${tag}-${i}`);
    for (const c of [rx, tx]) c.once("close", () => closed.push(c.clientId));
    clients.push(rx, tx);
    pairs.push({ rx: rx.clientId, rxOn, tracker, tx });
  }
  const steady = new SteadyTraffic(pairs.map((p) => ({ to: p.rx, from: () => p.tx, tracker: p.tracker })), { paceMs: 10 });
  await waitFor("traffic flowing", () => pairs.every((p) => p.tracker.acked.size >= 20), 20_000);
  return { pairs, steady, clients };
}

/** Every pair's clients: id -> the index of the msg_server it is on. */
function placed(pairs: Pair[]): [string, number][] {
  return pairs.flatMap((p): [string, number][] => [[p.rx, p.rxOn], [p.tx.clientId, 1 - p.rxOn]]);
}

/** Every acknowledged message delivered exactly once, in order, nothing else delivered. */
async function verifyPairs(pairs: Pair[]): Promise<void> {
  for (const p of pairs) {
    const tr = p.tracker;
    await waitFor(`${p.rx}: all ${tr.acked.size} acknowledged messages delivered (lost so far: ${tr.lost().length})`, () => tr.lost().length === 0, 30_000, 100);
    assert.deepEqual(tr.storedTwice(), [], `${p.rx}: no message stored twice`);
    assert.equal(tr.sameConnDuplicates, 0, `${p.rx}: no uuid twice on one connection`);
    assert.deepEqual([...tr.seen.values()].filter((n) => n !== 1), [], `${p.rx}: every message delivered exactly once`);
    assert.equal(tr.reordered(), 0, `${p.rx}: sender order kept`);
  }
}

/** Wait until every client in `on` (id -> msg_server index) has its session entry on `master`, naming its server; returns when. */
async function sessionsOn(cl: NetnsCluster, master: NsProc, on: Map<string, number>): Promise<number> {
  const r = await cl.redis.client(master);
  try {
    await waitFor(`all ${on.size} sessions registered on ${master.label}`, async () => {
      const vals = await r.mget(...[...on.keys()].map((id) => keys.session(id)));
      return [...on.values()].every((i, k) => decodeLocation(vals[k])?.serverId === `${cl.ms[i]!.addr}:19000`);
    }, 30_000, 100);
    return Date.now();
  } finally {
    r.disconnect();
  }
}

/** Log in `n` more clients on each msg_server (kept open); their ids -> server index. */
async function lateLogins(cl: NetnsCluster, tag: string, n: number, keep: FishChatClient[]): Promise<Map<string, number>> {
  const on = new Map<string, number>();
  await Promise.all(
    Array.from({ length: 2 * n }, async (_, k) => {
      const i = k % 2;
      keep.push(await cl.client(i, `late-${tag}-${k}`));
      on.set(`late-${tag}-${k}`, i);
    }),
  );
  return on;
}

function report(t: TestContext, what: string, steady: SteadyTraffic, from: number, to: number): void {
  const w = steady.window(from, to);
  const errors = [...steady.errors].map(([c, n]) => `${c} × ${n}`).join(", ") || "none";
  t.diagnostic(`${what}: ${w.length} sends acknowledged during it, p50 ${quantile(w, 0.5).toFixed(0)} ms, p99 ${quantile(w, 0.99).toFixed(0)} ms, max ${Math.max(...w).toFixed(0)} ms; failed attempts: ${errors}`);
}

test(`a Redis master lost on its namespace host: the replica is promoted, nothing acknowledged lost, sessions re-registered${reason ? ` (skipped: ${reason})` : ""}`, { skip: reason ?? false, timeout: 170_000 }, async (t) => {
  const cl = await startNetnsCluster({ redis: "sentinel", msg_server: { sessionTtlMs: SESSION_TTL_MS } });
  t.after(() => cl.stop());
  const [first, second] = cl.redis.servers as [NsProc, NsProc];
  assert.equal(await cl.redis.master(), first);
  const closed: string[] = [];
  const keep: FishChatClient[] = [];
  t.after(() => keep.forEach((c) => c.close()));

  await t.test("the master's redis-server SIGKILLed while its replica lagged behind", async (st) => {
    const { pairs, steady, clients } = await traffic(cl, "kill", closed);
    keep.push(...clients);
    // The replica misses the last writes, as asynchronous replication allows: its host is cut
    // off while these clients log in, so their entries exist on the master only.
    await cl.net.partition(second.host);
    const late = await lateLogins(cl, "kill", 3, keep);
    await sleep(300);
    const killedAt = Date.now();
    await first.kill("SIGKILL");
    await cl.net.heal(second.host);
    const promoted = await cl.redis.waitForFailover(first);
    const promotedAt = Date.now();
    assert.equal(promoted, second);
    const all = new Map([...late, ...placed(pairs)]);
    const registeredAt = await sessionsOn(cl, promoted, all);
    await sleep(2000);
    await steady.stop();
    await verifyPairs(pairs);
    assert.deepEqual(closed, [], "no client was disconnected by the failover");
    st.diagnostic(`promoted ${promotedAt - killedAt} ms after the kill; every session (${late.size} the replica never had) on the new master ${registeredAt - promotedAt} ms after the promotion; ${steady.count()} acknowledged in all`);
    report(st, "kill to promotion", steady, killedAt, promotedAt);
    assert.ok(registeredAt - promotedAt < REREGISTER_BOUND_MS, `sessions re-registered within ${REREGISTER_BOUND_MS} ms of the promotion (${registeredAt - promotedAt} ms), before the periodic refresh`);
    assert.ok(steady.window(killedAt, promotedAt).length > 10, "messages were acknowledged while there was no master");
    // The killed server comes back empty; the sentinels make it a replica of the new master.
    await first.start();
    await cl.redis.waitForReplica(first);
  });

  await t.test("the master's host cut off the network; healed after the promotion, the old master becomes a replica", async (st) => {
    const old = await cl.redis.master();
    assert.equal(old, second, "the master is the one promoted before");
    const { pairs, steady, clients } = await traffic(cl, "cut", closed);
    keep.push(...clients);
    const cutAt = Date.now();
    await cl.net.partition(old.host);
    let healed = false;
    try {
      // Logins while the master does not answer: accepted (their claims time out), registered later.
      const late = await lateLogins(cl, "cut", 2, keep);
      const promoted = await cl.redis.waitForFailover(old);
      const promotedAt = Date.now();
      assert.equal(promoted, first);
      const all = new Map([...late, ...placed(pairs)]);
      const registeredAt = await sessionsOn(cl, promoted, all);
      await cl.net.heal(old.host);
      healed = true;
      await cl.redis.waitForReplica(old);
      const demotedAt = Date.now();
      await sleep(1000);
      await steady.stop();
      await verifyPairs(pairs);
      assert.deepEqual(closed, [], "no client was disconnected by the failover");
      st.diagnostic(`promoted ${promotedAt - cutAt} ms after the cut; every session on the new master ${registeredAt - promotedAt} ms after the promotion; the old master a replica ${demotedAt - promotedAt} ms after it; ${steady.count()} acknowledged in all`);
      report(st, "cut to promotion", steady, cutAt, promotedAt);
      assert.ok(registeredAt - promotedAt < CUT_REREGISTER_BOUND_MS, `sessions re-registered within ${CUT_REREGISTER_BOUND_MS} ms of the promotion (${registeredAt - promotedAt} ms)`);
      assert.ok(steady.window(cutAt, promotedAt).length > 10, "messages were acknowledged while the master was cut off");
    } finally {
      if (!healed) await cl.net.heal(old.host);
    }
  });
});
