import { after, before } from "node:test";
import { openRedisBus } from "../../shared/bus/redis-bus.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { captureLogger } from "../support/log-sink.js";
import { runBusSuite } from "./bus.suite.js";

let redis: TestRedis;
before(async () => {
  redis = await startRedis({ aof: false });
});
after(async () => {
  await redis.stop();
});

// Each scope gets its own key prefix, so tests never see each other's keys.
runBusSuite("redis", {
  async open({ sessionTtlMs, scope }) {
    const cfg = { host: "127.0.0.1", port: redis.port, db: 0, password: "", keyPrefix: `t:${scope}:`, connectTimeoutMs: 2000 };
    return openRedisBus(cfg, captureLogger().log, { name: `conformance-${scope}`, sessionTtlMs });
  },
});
