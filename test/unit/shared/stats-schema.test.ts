import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import test from "node:test";
import { MemorySessionDirectory } from "../../../shared/bus/memory-session-directory.js";
import { MemoryProcessRegistry } from "../../../shared/bus/memory-process-registry.js";
import { MemoryV1Cache } from "../../../shared/bus/memory-v1-cache.js";
import { counters, isCounter, STATS, statDef } from "../../../shared/stats-schema.js";
import { statsReference, withReference } from "../../../scripts/stats-doc.js";
import { Router } from "../../../services/router/router.js";
import { LocationCache } from "../../../services/router/locations.js";
import { Manager } from "../../../services/manager/manager.js";
import { Gateway } from "../../../services/gateway/gateway.js";
import { Balancer } from "../../../services/gateway/balancer.js";
import { captureLogger } from "../../support/log-sink.js";

const DOC = resolve(import.meta.dirname, "../../../../docs/MONITOR.md");

test("docs/MONITOR.md's stats reference is the one the schema generates", () => {
  const doc = readFileSync(DOC, "utf8");
  assert.ok(doc.includes(statsReference()), "regenerate it: node dist/scripts/stats-doc.js --write");
  assert.equal(withReference(doc), doc);
});

test("counters() has exactly the schema's counters, all zero", () => {
  const c = counters("router");
  for (const [name, def] of Object.entries(STATS.router)) assert.equal(name in c, def.kind === "counter", name);
  assert.ok(Object.values(c).every((v) => v === 0));
  assert.equal(isCounter("router", "p2pShed"), true, "charted as a gauge before the schema existed");
  assert.equal(isCounter("manager", "sessionsReaped"), true);
  assert.equal(isCounter("router", "topicTo:127.0.0.1:19000"), true, "a family member");
  assert.equal(statDef("router", "nonsense"), undefined);
});

test("router, manager and gateway report exactly the stats the schema declares", () => {
  const log = captureLogger().log;
  const router = new Router(log, new LocationCache(new MemorySessionDirectory(1000), 10), { get: () => undefined, all: () => [] });
  const r = Object.keys(router.stats());
  assert.deepEqual(r.sort(), Object.keys(STATS.router).sort());
  const gw = new Gateway({ listen: "127.0.0.1:0" } as never, log, new Balancer(new MemoryProcessRegistry(), [], 1000, log));
  assert.deepEqual(Object.keys(gw.stats()).sort(), Object.keys(STATS.gateway).sort());
  const m = new Manager({ v1CacheTtlMs: 1000, v1TopicMembersMax: 10 }, log, new MemoryV1Cache(), null as never);
  for (const k of Object.keys(m.counters)) assert.equal(statDef("manager", k)?.kind, "counter", k);
});
