import assert from "node:assert/strict";
import test from "node:test";
import { z } from "zod";
import { redisSchema } from "../../../shared/config/common.js";
import { parseConfig } from "../../../shared/config/load-config.js";

const schema = z.strictObject({ redis: redisSchema });
const parse = (redis: unknown) => parseConfig("conf/x.json", { redis }, schema).redis;
const rejects = (redis: unknown, re: RegExp) =>
  assert.throws(() => parse(redis), (e: Error & { code?: string }) => e.code === "IM_ERR_CONFIG" && re.test(e.message), JSON.stringify(redis));

test("redis: standalone by default, 127.0.0.1:6379, no cluster", () => {
  assert.deepEqual(parseConfig("x.json", {}, schema).redis, { host: "127.0.0.1", port: 6379, db: 0, password: "", keyPrefix: "fc:", connectTimeoutMs: 2000 });
  assert.deepEqual(parse({ host: "r1", port: 7000, db: 3 }), { host: "r1", port: 7000, db: 3, password: "", keyPrefix: "fc:", connectTimeoutMs: 2000 });
});

test("redis.cluster: a list of seeds; password and keyPrefix apply too", () => {
  const r = parse({ cluster: [{ host: "10.0.0.1", port: 7000 }, { host: "10.0.0.2", port: 7001 }], password: "pw", keyPrefix: "chat:" });
  assert.deepEqual(r.cluster, [{ host: "10.0.0.1", port: 7000 }, { host: "10.0.0.2", port: 7001 }]);
  assert.equal(r.password, "pw");
  assert.equal(r.keyPrefix, "chat:");
  assert.ok(Object.isFrozen(r.cluster));
});

test("redis.cluster: clear errors for what cannot work on a cluster", () => {
  rejects({ cluster: [{ host: "a", port: 7000 }], host: "a" }, /key "redis\.cluster": redis\.cluster and redis\.host\/port are mutually exclusive/);
  rejects({ cluster: [{ host: "a", port: 7000 }], port: 6379 }, /mutually exclusive/);
  rejects({ cluster: [] }, /key "redis\.cluster": list at least one seed node/);
  rejects({ cluster: [{ host: "a", port: 7000 }], db: 1 }, /key "redis\.db": Redis Cluster has only database 0/);
  rejects({ cluster: [{ host: "a", port: 7000 }], keyPrefix: "{fc}:" }, /key "redis\.keyPrefix": .*must not contain \{ or \}/);
  rejects({ cluster: [{ host: "a", port: 0 }] }, /key "redis\.cluster\.0\.port"/);
  rejects({ cluster: [{ host: "a", port: 7000, natMap: {} }] }, /unknown key "redis\.cluster\.0\.natMap"/);
  rejects({ cluster: ["a:7000"] }, /key "redis\.cluster\.0"/);
});

test("redis.sentinel: the master's name and some sentinels; exclusive with host/port and cluster", () => {
  const r = parse({ sentinel: { name: "mymaster", nodes: [{ host: "s1", port: 26379 }] }, password: "data-pw", db: 2 });
  assert.deepEqual(r.sentinel, { name: "mymaster", nodes: [{ host: "s1", port: 26379 }], password: "" });
  assert.equal(r.db, 2, "db works with Sentinel (it is one server at a time)");
  rejects({ sentinel: { name: "m", nodes: [] } }, /key "redis\.sentinel\.nodes": list at least one sentinel/);
  rejects({ sentinel: { nodes: [{ host: "s1", port: 26379 }] } }, /key "redis\.sentinel\.name"/);
  rejects({ sentinel: { name: "m", nodes: [{ host: "s1", port: 26379 }] }, host: "r1" }, /key "redis\.sentinel": .*mutually exclusive/);
  rejects({ sentinel: { name: "m", nodes: [{ host: "s1", port: 26379 }] }, cluster: [{ host: "a", port: 7000 }] }, /redis\.sentinel and redis\.cluster are mutually exclusive/);
});
