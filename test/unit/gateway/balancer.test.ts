import assert from "node:assert/strict";
import { createServer } from "node:net";
import test from "node:test";
import { MemoryProcessRegistry } from "../../../shared/bus/memory-process-registry.js";
import type { ProcessInfo, ProcessRegistry } from "../../../shared/bus/process-registry.js";
import { Balancer } from "../../../services/gateway/balancer.js";
import { captureLogger } from "../../support/log-sink.js";
import { freePort } from "../../support/ports.js";

const ms = (id: string, connections: number): ProcessInfo => ({ role: "msg_server", id, addr: id, pid: 1, version: "t", startedAt: 1, ts: Date.now(), stats: { connections } });

test("pick: the live msg_server with the fewest connections, counting clients handed out since its last report", async () => {
  const reg = new MemoryProcessRegistry();
  await reg.announce(ms("a:1", 10), 60_000);
  await reg.announce(ms("b:1", 12), 60_000);
  await reg.announce(ms("dead:1", 0), 60_000);
  await reg.withdraw("msg_server", "dead:1");
  const b = new Balancer(reg, [], 60_000, captureLogger().log);
  await b.refresh();
  assert.equal(b.liveCount, 2);
  const picks = Array.from({ length: 6 }, () => b.pick());
  assert.ok(!picks.includes("dead:1"), "a dead server is never handed out");
  // a: 10,11 -> b ties at 12 ... the loads end level: a gets 4, b gets 2 (10+4 = 12+2).
  assert.deepEqual([picks.filter((p) => p === "a:1").length, picks.filter((p) => p === "b:1").length], [4, 2]);
  await reg.withdraw("msg_server", "a:1");
  await reg.withdraw("msg_server", "b:1");
  await b.refresh();
  assert.equal(b.pick(), null);
});

test("when the registry cannot be read, seeds that accept TCP are used", async (t) => {
  const port = await freePort();
  const srv = createServer((s) => s.destroy()).listen(port, "127.0.0.1");
  t.after(() => srv.close());
  const deadPort = await freePort();
  const broken: ProcessRegistry = {
    announce: async () => undefined,
    withdraw: async () => undefined,
    list: async () => {
      throw new Error("redis down");
    },
  };
  const b = new Balancer(broken, [`127.0.0.1:${deadPort}`, `127.0.0.1:${port}`], 60_000, captureLogger().log);
  await b.refresh();
  assert.equal(b.liveCount, 1);
  assert.equal(b.pick(), `127.0.0.1:${port}`);
});
