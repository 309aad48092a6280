import test from "node:test";
import assert from "node:assert/strict";
import type { P2PMessage, TopicMessage } from "../../shared/client/client.js";
import { Cmd } from "../../shared/protocol/commands.js";
import { type Cluster, type ServiceProc, startCluster, statsOf } from "../support/cluster.js";
import { sleep, waitFor } from "../support/ports.js";
import { Tracker } from "../support/tracker.js";
import { type EndpointAnswer, fetchEndpoint, TEST_ORIGIN, type WsClientOptions, WsChatClient } from "../support/ws-client.js";

/**
 * WebSocket clients (JSON dialect) in a cluster of real processes, next to TCP line and v1
 * packet clients: issue 11's guarantees hold over WebSocket as they do over TCP.
 */

/** Log in as a browser would: GET /v1/endpoint from the gateway, then the ws URL it names. */
async function wsLogin(cl: Cluster, id: string, o: WsClientOptions & { url?: string; setup?: (c: WsChatClient) => void } = {}): Promise<WsChatClient> {
  let url = o.url;
  if (!url) {
    const r = await fetchEndpoint(cl.gatewayHttpPort, { origin: TEST_ORIGIN });
    if (r.status !== 200) throw new Error(`endpoint: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    url = (r.body as EndpointAnswer).ws!;
  }
  const c = await WsChatClient.open(url, { origin: TEST_ORIGIN, ...o });
  o.setup?.(c);
  await c.login(id, await cl.token(id));
  return c;
}

const wsUrlOf = (cl: Cluster, i: number) => `ws://127.0.0.1:${cl.wsPorts[i]}/ws`;

test("WebSocket users in a cluster", { timeout: 240_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 2, ws: true });
  const [a, b] = cl.msgServers as [ServiceProc, ServiceProc];
  const closers: { close(): void }[] = [];
  t.after(() => {
    for (const c of closers) c.close();
  });

  await t.test("the registry advertises each ws URL; /v1/endpoint hands them out like REQ_MSG_SERVER", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await fetchEndpoint(cl.gatewayHttpPort, { origin: TEST_ORIGIN });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("access-control-allow-origin"), TEST_ORIGIN);
      const e = r.body as EndpointAnswer;
      const i0 = cl.msgServers.findIndex((m) => m.addr === e.tcp);
      assert.ok(i0 >= 0, `tcp ${e.tcp} is one of ours`);
      assert.equal(e.ws, wsUrlOf(cl, i0), "the ws URL of that same msg_server");
      seen.add(e.tcp);
    }
    assert.equal(seen.size, 2, "balanced over both servers");
    const refused = await fetchEndpoint(cl.gatewayHttpPort, { origin: "http://evil.example" });
    assert.equal(refused.status, 403);
  });

  await t.test("a WebSocket user and TCP users (line and v1 packet) chat across servers, both ways", async () => {
    const wsGot: P2PMessage[] = [];
    const alice = await wsLogin(cl, "ws-alice", { url: wsUrlOf(cl, 0), setup: (c) => c.on("p2p", (m: P2PMessage) => wsGot.push(m)) });
    const bobGot: P2PMessage[] = [];
    const bob = await cl.client("tcp-bob", { via: b.addr, setup: (c) => c.on("p2p", (m: P2PMessage) => bobGot.push(m)) });
    const v1Got: P2PMessage[] = [];
    const carl = await cl.client("v1-carl", { via: b.addr, codec: "packet", setup: (c) => c.on("p2p", (m: P2PMessage) => v1Got.push(m)) });
    closers.push(alice, bob, carl);
    await sleep(300); // the packet login has no reply; let it register

    const toBob = await alice.sendP2P("tcp-bob", "hello from a browser");
    await alice.sendP2P("v1-carl", "hello v1");
    await bob.sendP2P("ws-alice", "hello from tcp");
    carl.send({ name: Cmd.SEND_MESSAGE_P2P, args: ["ws-alice", "hello from v1", "v1-carl"] });
    await waitFor("bob got it", () => bobGot.length === 1);
    await waitFor("carl got it", () => v1Got.length === 1);
    await waitFor("alice got both", () => wsGot.length === 2);
    assert.deepEqual([bobGot[0]!.body, bobGot[0]!.from, bobGot[0]!.uuid, bobGot[0]!.seq], ["hello from a browser", "ws-alice", toBob.uuid, toBob.seq]);
    assert.deepEqual([v1Got[0]!.body, v1Got[0]!.from], ["hello v1", "ws-alice"]);
    assert.deepEqual(wsGot.map((m) => [m.body, m.from]).sort(), [["hello from tcp", "tcp-bob"], ["hello from v1", "v1-carl"]]);
    assert.ok(wsGot.every((m) => m.seq > 0 && m.ts > 0), "pushes carry seq and ts as in line mode");
  });

  await t.test("offline inbox and topic catch-up over WebSocket, across servers", async () => {
    const tx = await cl.client("tcp-dora", { via: a.addr });
    closers.push(tx);
    for (let i = 0; i < 10; i++) await tx.sendP2P("ws-eve", `p${i}`);
    const eveP2P: P2PMessage[] = [];
    const eve = await wsLogin(cl, "ws-eve", { url: wsUrlOf(cl, 1), setup: (c) => c.on("p2p", (m: P2PMessage) => eveP2P.push(m)) });
    await waitFor("eve's inbox", () => eveP2P.length === 10);
    assert.deepEqual(eveP2P.map((m) => m.body), Array.from({ length: 10 }, (_, i) => `p${i}`));

    await tx.request({ name: Cmd.CREATE_TOPIC, args: ["wsroom"] });
    const j = await eve.request(Cmd.JOIN_TOPIC, ["wsroom", "ws-eve"]);
    assert.deepEqual(j, { name: Cmd.LOCATE_TOPIC_MSG_ADDR, args: [b.addr, "wsroom"] });
    const live: TopicMessage[] = [];
    eve.on("topic", (m: TopicMessage) => live.push(m));
    await cl.routerReady();
    await waitFor("topic routed to eve's server", async () => {
      await tx.sendTopic("wsroom", `probe-${live.length}`);
      await sleep(100);
      return live.length > 0;
    });
    eve.close();
    await sleep(1500); // cursor flush (cursorFlushMs 1 s) of what eve acknowledged
    const missedSeqs: number[] = [];
    for (let i = 0; i < 5; i++) missedSeqs.push((await tx.sendTopic("wsroom", `missed${i}`)).seq);
    const back: TopicMessage[] = [];
    const eve2 = await wsLogin(cl, "ws-eve", { url: wsUrlOf(cl, 0), setup: (c) => c.on("topic", (m: TopicMessage) => back.push(m)) });
    closers.push(eve2);
    await waitFor("topic backlog", () => back.filter((m) => m.body.startsWith("missed")).length === 5);
    await sleep(200);
    assert.deepEqual(back.filter((m) => m.body.startsWith("missed")).map((m) => m.seq), missedSeqs, "the missed ones, in order, once");
  });

  await t.test("bad frames are answered or closed and never disturb another client's chat", async () => {
    const got: P2PMessage[] = [];
    const rx = await cl.client("tcp-rx", { via: b.addr, setup: (c) => c.on("p2p", (m: P2PMessage) => got.push(m)) });
    const tx = await wsLogin(cl, "ws-tx", { url: wsUrlOf(cl, 0) });
    closers.push(rx, tx);
    const N = 60;
    const sending = (async () => {
      for (let i = 0; i < N; i++) {
        await tx.sendP2P("tcp-rx", `m${i}`, `bad-frames-${i}`);
        await sleep(10);
      }
    })();
    for (let round = 0; round < 3; round++) {
      const junk = await WsChatClient.open(wsUrlOf(cl, 0), { origin: TEST_ORIGIN });
      junk.raw("{not json");
      junk.raw('{"id": "raw-1", "cmd": "SEND_MESSAGE_P2P", "args": "x"}');
      await assert.rejects(junk.request("NOPE"), (e: Error & { code?: string }) => e.code === "IM_ERR_UNKNOWN_COMMAND");
      assert.deepEqual(junk.notices.map((n) => n.args[0]), ["IM_ERR_BAD_FRAME"], "invalid JSON: answered with id null");
      assert.ok(junk.received.some((m) => m.kind === "reply" && m.id === "raw-1" && m.reply.args[0] === "IM_ERR_BAD_FRAME"), "a bad shape: answered with its id");
      junk.raw(Buffer.from([0, 1, 2, 3]));
      await junk.waitClosed();
      assert.equal(junk.closeCode, 1003);
      const big = await WsChatClient.open(wsUrlOf(cl, 0), { origin: TEST_ORIGIN });
      big.raw("x".repeat(70 * 1024));
      await big.waitClosed();
      assert.equal(big.closeCode, 1009);
    }
    await sending;
    await waitFor("every message delivered", () => got.length === N);
    assert.deepEqual(got.map((m) => m.body), Array.from({ length: N }, (_, i) => `m${i}`));
    assert.ok(a.running, "the msg_server is still up");
    assert.equal((await statsOf(a)).protocolErrors, 3, "each binary frame counted");
  });

  await t.test("a msg_server SIGKILLed under a WebSocket receiver: it logs in again through /v1/endpoint, nothing lost", async () => {
    const tr = new Tracker();
    let current: WsChatClient | null = null;
    let stopped = false;
    const connect = async (url?: string): Promise<void> => {
      for (;;) {
        try {
          current = await wsLogin(cl, "ws-rx", { url, setup: (c) => tr.watch(c) });
          current.once("close", () => {
            if (!stopped) void connect();
          });
          return;
        } catch {
          if (stopped) return;
          await sleep(100);
        }
      }
    };
    await connect(wsUrlOf(cl, 1));
    const sender = await cl.client("tcp-tx", { via: a.addr, heartbeatMs: 500 });
    closers.push(sender);
    const N = 300;
    const sending = tr.sendAll(() => sender, "ws-rx", 0, N, 2);
    await waitFor("traffic flowing", () => tr.acked.size > N / 4, 20_000);
    await b.kill("SIGKILL");
    await sleep(500);
    await b.start();
    await sending;
    await waitFor(`all ${N} acknowledged messages delivered (lost so far: ${tr.lost().length})`, () => tr.acked.size === N && tr.lost().length === 0, 30_000, 100);
    assert.deepEqual(tr.storedTwice(), [], "no message stored twice");
    assert.equal(tr.sameConnDuplicates, 0, "no uuid twice on one connection");
    assert.equal(tr.reordered(), 0, "sender order kept on every connection");
    assert.ok(tr.orders.length >= 2, "the receiver did reconnect");
    stopped = true;
    (current as WsChatClient | null)?.close();
    await cl.routerReady();
  });

  await t.test("a msg_server SIGKILLed under a WebSocket sender: retries with the same cmid, nothing lost or stored twice", async () => {
    const tr = new Tracker();
    const rx = await cl.client("tcp-rx2", { via: b.addr, heartbeatMs: 500, setup: (c) => tr.watch(c) });
    closers.push(rx);
    let current = await wsLogin(cl, "ws-tx2", { url: wsUrlOf(cl, 0) });
    let stopped = false;
    const reconnect = () =>
      current.once("close", async () => {
        while (!stopped) {
          try {
            current = await wsLogin(cl, "ws-tx2");
            reconnect();
            return;
          } catch {
            await sleep(100);
          }
        }
      });
    reconnect();
    const N = 300;
    const sending = tr.sendAll(() => current, "tcp-rx2", 0, N, 2);
    await waitFor("traffic flowing", () => tr.acked.size > N / 4, 20_000);
    await a.kill("SIGKILL");
    await sleep(500);
    await a.start();
    await sending;
    await waitFor(`all ${N} delivered (lost so far: ${tr.lost().length})`, () => tr.lost().length === 0 && tr.acked.size === N, 30_000, 100);
    assert.deepEqual(tr.storedTwice(), [], "a retried send is deduplicated by its client message id");
    assert.equal(tr.reordered(), 0);
    stopped = true;
    current.close();
  });
});

test("WebSocket liveness: the server's pings keep an idle session past the idle timeout; a silent peer is closed", { timeout: 60_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 1, router: false, ws: true, conf: { msg_server: { idleTimeoutMs: 1500, loginTimeoutMs: 1500 } } });
  const url = wsUrlOf(cl, 0);
  const quiet = await wsLogin(cl, "quiet", { url });
  const silent = await wsLogin(cl, "silent", { url, autoPong: false });
  t.after(() => {
    quiet.close();
    silent.close();
  });
  await silent.waitClosed(6000);
  assert.equal(silent.notices.at(-1)?.args[0], "IM_ERR_IDLE_TIMEOUT", "closed with the coded notice");
  await sleep(2000);
  assert.equal(quiet.closed, false, "idle for 4 s with a 1.5 s idle timeout, alive thanks to ping/pong");
  assert.ok(quiet.pings >= 4, `pinged ${quiet.pings} times`);
  const tcp = await cl.client("tcp-idle", { heartbeatMs: 0 });
  await waitFor("a silent TCP client is closed by the same timeout", () => tcp.closed, 6000);
  assert.equal((await quiet.request(Cmd.SEND_PING)).args[0], "PONG");
  assert.equal((await statsOf(cl.msgServers[0]!)).idleTimeouts, 2);
});
