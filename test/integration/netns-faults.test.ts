import test from "node:test";
import assert from "node:assert/strict";
import type { FishChatClient } from "../../shared/client/client.js";
import { netemAvailable, netnsAvailable } from "../support/netns.js";
import { startNetnsCluster, type NetnsCluster } from "../support/netns-cluster.js";
import { sleep, waitFor } from "../support/ports.js";
import { verify } from "../support/reconnecting.js";
import { Tracker } from "../support/tracker.js";

/**
 * Network faults between hosts (issue 12), on the namespace hosts of test/support/netns.ts: each
 * during steady p2p traffic in both directions between the two msg_servers' hosts, counted by
 * the tracker (0 acknowledged lost, 0 duplicates, 0 out of order).
 */

const reason = netnsAvailable();
const netemReason = reason ?? netemAvailable();
const SESSION_TTL_MS = 3000;

/** A recipient on server i that logs in there again whenever its connection closes (a kick after the partition). */
async function stayOn(cl: NetnsCluster, i: number, id: string, t: Tracker): Promise<() => void> {
  let stopped = false;
  let current: FishChatClient;
  const connect = async (): Promise<void> => {
    for (;;) {
      try {
        current = await cl.client(i, id, (c) => t.watch(c));
        current.once("close", () => {
          if (!stopped) void connect();
        });
        return;
      } catch {
        if (stopped) return;
        await sleep(200);
      }
    }
  };
  await connect();
  return () => {
    stopped = true;
    current.close();
  };
}

/** Traffic both ways across the two servers: ms2 -> ms1 and ms1 -> ms2, N messages each. */
async function crossTraffic(cl: NetnsCluster, tag: string, n: number, during: () => Promise<void>): Promise<void> {
  const to1 = new Tracker();
  const to2 = new Tracker();
  const stops = [await stayOn(cl, 0, `rx1-${tag}`, to1), await stayOn(cl, 1, `rx2-${tag}`, to2)];
  const tx2 = await cl.client(1, `tx2-${tag}`);
  const tx1 = await cl.client(0, `tx1-${tag}`);
  const sending = Promise.all([to1.sendAll(() => tx2, `rx1-${tag}`, 0, n, 20), to2.sendAll(() => tx1, `rx2-${tag}`, 0, n, 20)]);
  await sleep(1000);
  await during();
  await sending;
  await verify(to1, n);
  await verify(to2, n);
  for (const s of stops) s();
  tx1.close();
  tx2.close();
}

test(`network faults between hosts${reason ? ` (skipped: ${reason})` : ""}`, { skip: reason ?? false, timeout: 150_000 }, async (t) => {
  const cl = await startNetnsCluster({ msg_server: { sessionTtlMs: SESSION_TTL_MS } });
  t.after(() => cl.stop());
  const [ms1] = cl.ms as [NetnsCluster["ms"][0]];

  await t.test(`ms1's host partitioned for ${(2.5 * SESSION_TTL_MS) / 1000} s (longer than the session TTL), then healed`, async () => {
    let healedAt = 0;
    let pullsDuring = 0;
    await crossTraffic(cl, "part", 400, async () => {
      const before = await cl.stats(ms1, 19000);
      await cl.net.partition(ms1);
      await sleep(2.5 * SESSION_TTL_MS);
      // Read through ms1's own host (the control view): the partition does not cut it.
      const during = await cl.stats(ms1, 19000);
      pullsDuring = (during.storePulls ?? 0) - (before.storePulls ?? 0);
      await cl.net.heal(ms1);
      healedAt = Date.now();
    });
    t.diagnostic(`partition: ms1 read ${pullsDuring} times from the store while cut off; all delivered ${Date.now() - healedAt} ms after the heal (sending included)`);
    // Cut off from the router, ms1's recipient got ms2's messages from the shared store (its sweep).
    assert.ok(pullsDuring > 0, "messages reached ms1's recipient through the store during the partition");
  });

  await t.test("split session: the same id logs in on ms2 while ms1 is cut off; the older copy is closed soon after the heal", async () => {
    const closedAt: [number, number] = [0, 0];
    const first = await cl.client(0, "split-id");
    first.once("close", () => (closedAt[0] = Date.now()));
    await cl.net.partition(ms1);
    let healedAt = 0;
    try {
      // ms2 claims the id in Redis; the kick on the control bus cannot reach ms1.
      const second = await cl.client(1, "split-id");
      second.once("close", () => (closedAt[1] = Date.now()));
      await sleep(1500);
      assert.equal(closedAt[0], 0, "cut off, ms1 cannot know: both copies are live (the split)");
      await cl.net.heal(ms1);
      healedAt = Date.now();
      await waitFor("one copy closed", () => closedAt[0] > 0 || closedAt[1] > 0, 15_000, 50);
      const which = closedAt[0] > 0 ? 0 : 1;
      const splitMs = closedAt[which] - healedAt;
      await sleep(1500);
      t.diagnostic(`split resolved ${splitMs} ms after the heal: ${which === 0 ? "ms1's (older) copy" : "ms2's (newer) copy"} closed`);
      // Bound (docs/ARCHITECTURE.md "Deployment"): the next session refresh, every sessionTtlMs / 3 (at least 1 s), once
      // Redis answers again; from the heal that adds the Redis client's recovery (command timeouts, reconnect backoff).
      assert.ok(splitMs <= Math.max(1000, SESSION_TTL_MS / 3) + 20_000, `resolved within the refresh period plus 20 s (${splitMs} ms)`);
      assert.equal(closedAt[1 - which], 0, "exactly one copy remains");
      // The session claim carries the login time: a late claim or refresh from ms1 cannot take the entry back.
      assert.equal(which, 0, "the older copy (ms1's) is the one closed; the newer login stays");
      first.close();
      second.close();
    } finally {
      if (!healedAt) await cl.net.heal(ms1);
    }
  });

  await t.test(`netem delay 50ms loss 1% on the router's host${netemReason ? ` (skipped: ${netemReason})` : ""}`, { skip: netemReason ?? false }, async () => {
    await crossTraffic(cl, "netem", 200, async () => {
      await cl.net.netem(cl.infra, "delay 50ms loss 1%");
      await sleep(3000);
    });
    await cl.net.clearNetem(cl.infra);
  });
});
