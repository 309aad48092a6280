import test from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import type { P2PMessage } from "../../shared/client/client.js";
import { startCluster, statsOf } from "../support/cluster.js";
import { waitFor } from "../support/ports.js";

/**
 * A client that stops reading cannot make its msg_server buffer without bound: past
 * maxOutboundBytes it is disconnected (IM_ERR_SLOW_CONSUMER), and what it missed waits in its
 * inbox and arrives, in order, at its next login.
 */
test("a slow consumer is disconnected at the bound and catches up at its next login", { timeout: 90_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 1, router: false, conf: { msg_server: { maxOutboundBytes: 64 * 1024 } } });
  const ms = cl.msgServers[0]!;
  // A raw socket that logs in and then never reads again.
  const [host, port] = [ms.addr.split(":")[0]!, Number(ms.addr.split(":")[1])];
  const frozen = connect({ host, port });
  frozen.on("error", () => undefined);
  await new Promise<void>((r) => frozen.once("connect", () => r()));
  frozen.write(`SEND_CLIENT_ID sloth ${await cl.token("sloth")}\n`);
  await waitFor("sloth registered", async () => (await cl.redis.client().get("fc:sess:sloth")) !== null);
  frozen.pause();

  const sender = await cl.client("firehose", { via: ms.addr });
  // 8 MB: beyond the 64 KiB bound plus the few MB the kernel's loopback buffers absorb first.
  const body = "x".repeat(8_000);
  const N = 1000;
  for (let i = 0; i < N; i++) await sender.sendP2P("sloth", `${i} ${body}`);
  // A paused socket never reads the close, so watch the server: it counts and unregisters it.
  await waitFor("the frozen reader is cut off", async () => ((await statsOf(ms)).slowConsumers ?? 0) >= 1, 20_000);
  await waitFor("its session unregistered", async () => (await cl.redis.client().get("fc:sess:sloth")) === null);
  const delivered = (await statsOf(ms)).msgsOut ?? 0;
  assert.ok(delivered < N, `pushing stopped at the bound (${delivered} of ${N} pushed)`);
  frozen.destroy();

  const got: P2PMessage[] = [];
  const back = await cl.client("sloth", { via: ms.addr, setup: (c) => c.on("p2p", (m: P2PMessage) => got.push(m)) });
  await waitFor("everything arrives after re-login", () => new Set(got.map((m) => m.uuid)).size === N, 30_000);
  const firsts = [...new Map(got.map((m) => [m.uuid, Number(m.body.split(" ")[0])])).values()];
  assert.deepEqual(firsts, Array.from({ length: N }, (_, i) => i), "in order, each once");
  back.close();
  sender.close();
});
