/**
 * /sysctrl/send goes to one router (several routers forward each message once); watchers
 * (the server API's webhook) subscribe to /sysctrl/send-watch and see every routed message
 * without ever being the one chosen to forward it.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { Channel, Cmd } from "../../../shared/protocol/commands.js";
import { CORE_SECRET, startCore } from "../../support/core.js";

test("a routed p2p message: to one of two routers, and to every watcher", async (t) => {
  const h = await startCore(t);
  const link = async (channel: string, id: string) => {
    const l = h.connect();
    await l.request(`AUTH ${CORE_SECRET}`);
    assert.equal((await l.request(`SUBSCRIBE_CHANNEL ${channel} ${id}`)).name, Cmd.OK);
    return l;
  };
  const routers = [await link(Channel.SEND, "router-1"), await link(Channel.SEND, "router-2")];
  const watchers = [await link(Channel.SEND_WATCH, "api-1"), await link(Channel.SEND_WATCH, "api-2")];
  const alice = h.connect();
  await alice.request(`SEND_CLIENT_ID alice ${await h.token("alice")}`);
  const n = 20;
  for (let i = 0; i < n; i++) assert.equal((await alice.request(`SEND_MESSAGE_P2P user-${i} m${i}`)).name, Cmd.OK);
  const routed = (l: (typeof routers)[number]) => l.pushesNamed(Cmd.ROUTE_MESSAGE_P2P).length;
  for (const w of watchers) await w.until("every routed message", () => routed(w) === n);
  await routers[0]!.until("all forwarded", () => routed(routers[0]!) + routed(routers[1]!) === n);
  assert.equal(routed(routers[0]!) + routed(routers[1]!), n, "each message to exactly one router");
  assert.ok(routed(routers[0]!) > 0 && routed(routers[1]!) > 0, "recipients spread over both routers");
  assert.equal(h.core.stats.routedOut, n, "routedOut counts router hand-offs, not watchers");
});
