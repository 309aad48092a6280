import assert from "node:assert/strict";
import test from "node:test";
import { startCluster, type Cluster } from "../support/cluster.js";
import { sleep, waitFor } from "../support/ports.js";
import { verify } from "../support/reconnecting.js";
import { quantile, SteadyTraffic } from "../support/steady.js";
import { Tracker } from "../support/tracker.js";

/**
 * Issue 12: the router and the manager frozen (SIGSTOP) during steady cross-server traffic. A
 * frozen router still holds its links open and reads nothing, so routed messages stop on their
 * way; the store is the queue, so the recipients' msg_servers must still deliver everything
 * acknowledged (their inbox sweep, every inboxSweepMs), and what the router forwards late on
 * SIGCONT must not be delivered twice. The manager is off the message path: nothing may notice it.
 */

const FREEZE_MS = 5000;
const SWEEP_MS = 1000;

async function pairs(cl: Cluster, tag: string) {
  const [a, b] = cl.msgServers as [Cluster["msgServers"][0], Cluster["msgServers"][0]];
  const trackers: Tracker[] = [];
  const list = [];
  const clients = [];
  for (let i = 0; i < 4; i++) {
    const tracker = new Tracker();
    const rx = await cl.client(`rx-${tag}-${i}`, { via: i % 2 === 0 ? a.addr : b.addr, setup: (c) => tracker.watch(c) });
    const tx = await cl.client(`tx-${tag}-${i}`, { via: i % 2 === 0 ? b.addr : a.addr, requestTimeoutMs: 3000 });
    clients.push(rx, tx);
    trackers.push(tracker);
    list.push({ to: rx.clientId, from: () => tx, tracker });
  }
  const steady = new SteadyTraffic(list, { paceMs: 10 });
  await waitFor("traffic flowing", () => trackers.every((t) => t.acked.size >= 20), 20_000);
  return { steady, trackers, clients };
}

test("SIGSTOP of the router and of the manager during cross-server traffic", { timeout: 120_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 2, manager: true, conf: { msg_server: { inboxSweepMs: SWEEP_MS } } });
  await cl.routerReady();

  await t.test(`router frozen ${FREEZE_MS / 1000} s: every acknowledged message delivered once, in order, by the sweep; routing resumes after SIGCONT`, async (st) => {
    const s = await pairs(cl, "router");
    const router = cl.router!;
    const before = s.trackers.map((tr) => tr.acked.size);
    router.proc!.kill("SIGSTOP");
    const frozenAt = Date.now();
    try {
      // Halfway through the freeze, messages sent during it have reached their recipients anyway.
      await waitFor(
        "messages acknowledged during the freeze delivered without the router",
        () => s.trackers.every((tr, k) => tr.acked.size > before[k]! + 20 && tr.lost().length < 60),
        FREEZE_MS - 500,
        50,
      );
      st.diagnostic(`deliveries flowing without the router ${Date.now() - frozenAt} ms into the freeze`);
      await sleep(FREEZE_MS - (Date.now() - frozenAt));
    } finally {
      router.proc!.kill("SIGCONT");
    }
    const contAt = Date.now();
    await sleep(2000);
    await s.steady.stop();
    const during = s.steady.window(frozenAt, contAt);
    const after = s.steady.window(contAt + 1000, Date.now());
    st.diagnostic(`sends during the freeze: ${during.length} acknowledged, p99 ${quantile(during, 0.99).toFixed(0)} ms; after: ${after.length}, p99 ${quantile(after, 0.99).toFixed(0)} ms`);
    assert.deepEqual([...s.steady.errors], [], "no send failed: sends never wait on the router");
    assert.ok(during.length > 100, `sends kept being acknowledged (${during.length})`);
    // verify: every acknowledged message received exactly once and in order (the late forwards are deduplicated).
    for (const tr of s.trackers) await verify(tr, tr.acked.size);
    for (const c of s.clients) c.close();
  });

  await t.test(`manager frozen ${FREEZE_MS / 1000} s: sends, deliveries and logins carry on`, async (st) => {
    const s = await pairs(cl, "manager");
    const manager = cl.manager!;
    manager.proc!.kill("SIGSTOP");
    const frozenAt = Date.now();
    let contAt = 0;
    try {
      await sleep(1000);
      const t0 = Date.now();
      (await cl.client("login-during-manager-freeze")).close();
      st.diagnostic(`a login through the gateway during the freeze took ${Date.now() - t0} ms`);
      await sleep(FREEZE_MS - (Date.now() - frozenAt));
    } finally {
      manager.proc!.kill("SIGCONT");
      contAt = Date.now();
    }
    await sleep(1000);
    await s.steady.stop();
    const during = s.steady.window(frozenAt, contAt);
    st.diagnostic(`sends during the freeze: ${during.length} acknowledged, p99 ${quantile(during, 0.99).toFixed(0)} ms`);
    assert.deepEqual([...s.steady.errors], [], "no send failed");
    assert.ok(quantile(during, 0.99) < 500, `p99 ${quantile(during, 0.99).toFixed(0)} ms < 500 ms`);
    for (const tr of s.trackers) await verify(tr, tr.acked.size);
    for (const c of s.clients) c.close();
  });
});
