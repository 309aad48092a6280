import assert from "node:assert/strict";
import test from "node:test";
import { MemorySessionDirectory } from "../../../shared/bus/memory-session-directory.js";
import type { SessionDirectory, SessionLocation } from "../../../shared/bus/session-directory.js";
import type { Command } from "../../../shared/protocol/commands.js";
import { encodeEnvelope, parseEnvelope, type Envelope, type RouteP2P } from "../../../shared/protocol/envelope.js";
import { LocationCache } from "../../../services/router/locations.js";
import { MAX_LOOKUP_QUEUE, Router, type LinkLike } from "../../../services/router/router.js";
import { captureLogger } from "../../support/log-sink.js";

class FakeLink implements LinkLike {
  readonly sent: Envelope[] = [];
  isUp = true;
  constructor(readonly addr: string) {}
  send(cmd: Command): boolean {
    if (!this.isUp) return false;
    this.sent.push(parseEnvelope(cmd)!);
    return true;
  }
}

/** A directory whose lookups wait until released, to test what the router does meanwhile. */
class SlowDirectory implements SessionDirectory {
  readonly inner = new MemorySessionDirectory(60_000);
  private gate: Promise<void> = Promise.resolve();
  private openGate: () => void = () => undefined;
  lookups = 0;
  hold(): void {
    this.gate = new Promise((r) => (this.openGate = r));
  }
  unblock(): void {
    this.openGate();
  }
  claim = (id: string, loc: SessionLocation) => this.inner.claim(id, loc);
  refreshAll = this.inner.refreshAll.bind(this.inner);
  release = this.inner.release.bind(this.inner);
  online = this.inner.online.bind(this.inner);
  async lookup(id: string): Promise<SessionLocation | null> {
    this.lookups++;
    await this.gate;
    return this.inner.lookup(id);
  }
}

function setup(directory: SessionDirectory) {
  const links = new Map(["a:1", "b:1", "c:1"].map((addr) => [addr, new FakeLink(addr)]));
  const router = new Router(captureLogger().log, new LocationCache(directory, 1000), { get: (a) => links.get(a), all: () => [...links.values()] });
  return { router, links, a: links.get("a:1")!, b: links.get("b:1")!, c: links.get("c:1")! };
}

const p2p = (to: string, n: number): RouteP2P => ({ type: "route-p2p", to, from: "x", body: `m${n}`, uuid: `u${n}`, ipos: n, seq: n, ts: 1 });
const bodies = (l: FakeLink) => l.sent.map((e) => (e.type === "route-p2p" ? e.body : e.type));

test("p2p: one source's messages keep their order while a location lookup is pending", async () => {
  const dir = new SlowDirectory();
  await dir.claim("bob", { serverId: "b:1", connId: "c1" });
  await dir.claim("carol", { serverId: "c:1", connId: "c2" });
  const { router, a, b, c } = setup(dir);
  router.onEnvelope("a:1", { type: "session", target: "cache", clientId: "carol", clientAddr: "", serverId: "c:1", connId: "c2", alive: true, lastSeenMs: 1 });
  dir.hold();
  router.onCommand(a, encodeEnvelope(p2p("bob", 1))); // cache miss: lookup pending
  router.onCommand(a, encodeEnvelope(p2p("carol", 2))); // cached, but must wait behind message 1
  router.onCommand(a, encodeEnvelope(p2p("bob", 3)));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(bodies(b), []);
  assert.deepEqual(bodies(c), [], "a cached destination does not overtake the pending lookup of the same source");
  dir.unblock();
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(bodies(b), ["m1", "m3"]);
  assert.deepEqual(bodies(c), ["m2"]);
  assert.equal(dir.lookups, 1, "the second message to bob used the cache filled by the first lookup");
  assert.equal(router.counters.p2pForwarded, 3);
});

test("p2p: a source's lookup queue is bounded; what is shed is counted (the store still has it)", async () => {
  const dir = new SlowDirectory();
  const { router, a } = setup(dir);
  dir.hold();
  for (let i = 0; i < MAX_LOOKUP_QUEUE + 25; i++) router.onCommand(a, encodeEnvelope(p2p("ghost", i + 1)));
  assert.equal(router.counters.p2pShed, 25, "MAX_LOOKUP_QUEUE held (the first of them in flight), the rest shed");
  dir.unblock();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(router.counters.p2pOffline, MAX_LOOKUP_QUEUE, "ghost is online nowhere");
});

test("a NACK forgets the stale location and sends RESYNC to the server that has the client now", async () => {
  const dir = new MemorySessionDirectory(60_000);
  const { router, a, b, c } = setup(dir);
  router.onEnvelope("a:1", { type: "session", target: "cache", clientId: "bob", clientAddr: "", serverId: "b:1", connId: "c1", alive: true, lastSeenMs: 1 });
  router.onCommand(a, encodeEnvelope(p2p("bob", 1)));
  assert.deepEqual(bodies(b), ["m1"]);
  await dir.claim("bob", { serverId: "c:1", connId: "c9" }); // bob moved; b's cache entry is stale
  router.onCommand(b, encodeEnvelope({ type: "route-nack", to: "bob", uuid: "u1", ipos: 1 }));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(c.sent, [{ type: "resync", clientId: "bob" }]);
  assert.equal(router.counters.nacks, 1);
  assert.equal(router.counters.resyncs, 1);
  router.onCommand(a, encodeEnvelope(p2p("bob", 2)));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(bodies(c), ["resync", "m2"], "later messages go to the new location");
});

test("topics: targeted fan-out to servers with members online, never back to the source", () => {
  const { router, a, b, c } = setup(new MemorySessionDirectory(60_000));
  router.onCommand(a, encodeEnvelope({ type: "topic-online", topics: ["golang"] }));
  router.onCommand(b, encodeEnvelope({ type: "topic-snapshot", topics: ["golang", "rust"] }));
  const msg = { type: "route-topic" as const, topic: "golang", from: "x", body: "hi", uuid: "u", seq: 1, ts: 1 };
  router.onCommand(a, encodeEnvelope(msg));
  assert.equal(a.sent.length, 0);
  assert.equal(b.sent.length, 1);
  assert.equal(c.sent.length, 0, "c has no member online");
  router.onCommand(b, encodeEnvelope({ type: "topic-offline", topics: ["golang"] }));
  router.onCommand(a, encodeEnvelope({ ...msg, seq: 2 }));
  assert.equal(b.sent.length, 1);
  router.onLinkDown(b);
  assert.equal(router.topicServers.has("rust"), false, "a server's topics go with its link");
  assert.equal(router.stats()["topicTo:b:1"], 1);
});

test("malformed messages are counted and dropped, never thrown back at the link", () => {
  const { router, a } = setup(new MemorySessionDirectory(60_000));
  router.onCommand(a, { name: "ROUTE_MESSAGE_P2P", args: ["bob", "hi"] });
  router.onCommand(a, { name: "SOMETHING_ELSE", args: [] });
  assert.equal(router.counters.badMessages, 1);
});
