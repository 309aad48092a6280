import test from "node:test";
import assert from "node:assert/strict";
import { redisSchema } from "../../shared/config/common.js";
import { RedisHealth } from "../../services/monitor/redis-health.js";
import { captureLogger } from "../support/log-sink.js";
import { waitFor } from "../support/ports.js";
import { startRedisCluster } from "../support/redis-cluster.js";
import { startRedisSentinel } from "../support/redis-sentinel.js";

/**
 * The monitor's Redis probe on the other two topologies (the standalone one is covered by
 * monitor-api.test.ts through the real monitor): real redis-server processes, real faults, and
 * the sentences the dashboard would show.
 */

test("Redis component on a Redis Cluster: up, degraded while a master's slots are unserved, worded when all nodes are gone", { timeout: 60_000 }, async (t) => {
  const rc = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
  t.after(() => rc.stop());
  const health = new RedisHealth(redisSchema.parse({ cluster: rc.seeds() }), 1000, captureLogger().log);
  t.after(() => health.close());
  assert.match(health.addr, /^cluster 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+$/);
  const ok = await waitFor("probe ok", async () => {
    const p = await health.probe();
    return p.ok && !p.warning ? p : null;
  }, 15_000);
  assert.ok(ok.latencyMs !== null && ok.latencyMs < 1000);

  // No replica to take over: once the others mark it failed, its slots have no master.
  const victim = (await rc.masters())[0]!;
  rc.signal(victim, "SIGKILL");
  const degraded = await waitFor("cluster_state:fail seen", async () => (await health.probe()).warning, 30_000, 250);
  assert.match(degraded, /^Redis Cluster 127\.0\.0\.1:\d+, .* reports cluster_state:fail, \d+ of 16384 slots not served: keys in those slots cannot be read or written$/);

  for (const n of rc.nodes) if (n !== victim) rc.signal(n, "SIGKILL");
  // First "closed the connection", then, as the re-dials are refused, the steady state.
  const seen: string[] = [];
  await waitFor("probe says why", async () => {
    const p = await health.probe();
    if (p.error) seen.push(p.error);
    return /refuses connections|none of the nodes answers/.test(p.error ?? "");
  }, 15_000, 250).catch((err: unknown) => {
    throw new Error(`${String(err)}; the probe said: ${[...new Set(seen)].join(" / ")}`);
  });
  for (const e of seen) assert.doesNotMatch(e, /ECONNREFUSED|Stream isn't writeable|Cluster isn't ready/, e);
});

test("Redis component behind Sentinel: the master's death is worded, the promoted replica is found", { timeout: 60_000 }, async (t) => {
  const rs = await startRedisSentinel({ replicas: 1, sentinels: 3 });
  t.after(() => rs.stop());
  const health = new RedisHealth(redisSchema.parse({ sentinel: { name: rs.name, nodes: rs.seeds() } }), 1000, captureLogger().log);
  t.after(() => health.close());
  assert.match(health.addr, new RegExp(`^master "${rs.name}" via sentinels 127\\.0\\.0\\.1:\\d+`));
  await waitFor("probe ok", async () => (await health.probe()).ok, 15_000);
  const old = await rs.killMaster();
  const down = await waitFor("probe fails", async () => {
    const p = await health.probe();
    return p.ok ? null : p;
  }, 10_000, 100);
  assert.match(down.error ?? "", new RegExp(`Redis at 127\\.0\\.0\\.1:${old.port} (refuses connections|closed the connection)|does not answer|is not connected`));
  await rs.waitForFailover();
  await waitFor("probe ok on the new master", async () => (await health.probe()).ok, 20_000, 250);
});
