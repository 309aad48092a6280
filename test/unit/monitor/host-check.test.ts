import assert from "node:assert/strict";
import test from "node:test";
import { hostPolicy, parseAuthority } from "../../../services/monitor/host-check.js";
import { describeRedisError } from "../../../services/monitor/redis-words.js";

test("parseAuthority: names, ports, IPv6 literals; garbage is null", () => {
  assert.deepEqual(parseAuthority("LocalHost:30000"), { host: "localhost", port: 30000 });
  assert.deepEqual(parseAuthority("[::1]:30000"), { host: "::1", port: 30000 });
  assert.deepEqual(parseAuthority("::1"), { host: "::1", port: null });
  assert.deepEqual(parseAuthority("monitor.example.com."), { host: "monitor.example.com", port: null });
  for (const bad of ["", "a b", "user@host", "host:99999", "host:x", "[::1", "[::1]x", "/path"]) assert.equal(parseAuthority(bad), null, bad);
});

test("host policy: the bound host and loopback names on the bound port; anything else refused", () => {
  const p = hostPolicy({ bindHost: "127.0.0.1", port: () => 30000 });
  for (const ok of ["127.0.0.1:30000", "localhost:30000", "[::1]:30000", "localhost"]) assert.ok(p.allowsHost(ok), ok);
  for (const bad of ["attacker.example", "attacker.example:30000", "127.0.0.1:30001", "localhost.attacker.example:30000", "", undefined]) assert.equal(p.allowsHost(bad), false, String(bad));
  assert.ok(p.allowsOrigin("http://127.0.0.1:30000"));
  assert.ok(p.allowsOrigin("http://localhost:30000"));
  for (const bad of ["http://attacker.example:30000", "null", "http://127.0.0.1:9999", "file://", "chrome-extension://abc"]) assert.equal(p.allowsOrigin(bad), false, bad);
});

test("host policy: configured names replace the bound host; a name with a port matches only that port", () => {
  const p = hostPolicy({ bindHost: "10.0.0.5", port: () => 30000, allowedHosts: ["monitor.example.com", "ops.example.com:8443"] });
  assert.ok(p.allowsHost("monitor.example.com"), "behind a proxy on 80/443");
  assert.ok(p.allowsHost("monitor.example.com:30000"));
  assert.equal(p.allowsHost("monitor.example.com:8080"), false);
  assert.ok(p.allowsHost("ops.example.com:8443"));
  assert.equal(p.allowsHost("ops.example.com"), false);
  assert.equal(p.allowsHost("10.0.0.5:30000"), false, "not listed any more");
  assert.ok(p.allowsHost("localhost:30000"), "loopback names stay");
  assert.ok(p.allowsOrigin("https://monitor.example.com"));
  assert.ok(p.allowsOrigin("https://ops.example.com:8443"));
});

test("host policy: a wildcard bind answers to the machine's addresses", () => {
  const p = hostPolicy({ bindHost: "0.0.0.0", port: () => 30000 });
  assert.ok(p.names.length > 3, `machine names: ${p.names}`);
  assert.ok(p.allowsHost("127.0.0.1:30000"));
  assert.equal(p.allowsHost("attacker.example:30000"), false);
});

test("Redis errors in words", () => {
  const where = { host: "127.0.0.1", port: 6379 };
  const err = (code: string, message: string) => Object.assign(new Error(message), { code });
  assert.equal(describeRedisError(err("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:6379"), where), "Redis at 127.0.0.1:6379 refuses connections (is redis-server running?)");
  assert.equal(describeRedisError(err("ENOTFOUND", "getaddrinfo ENOTFOUND redis.internal"), { host: "redis.internal", port: 6379 }), 'Cannot resolve the Redis host name "redis.internal" (redis.host)');
  assert.equal(describeRedisError(new Error("NOAUTH Authentication required."), where), "Redis at 127.0.0.1:6379 requires a password (set redis.password)");
  assert.equal(describeRedisError(new Error("WRONGPASS invalid username-password pair or user is disabled."), where), "Redis at 127.0.0.1:6379 rejected the password (check redis.password)");
  assert.equal(describeRedisError(new Error("Command timed out"), where, 1000), "Redis at 127.0.0.1:6379 does not answer (no reply within 1000 ms)");
  assert.equal(describeRedisError(new Error("LOADING Redis is loading the dataset in memory"), where), "Redis at 127.0.0.1:6379 is still loading its data set into memory");
  assert.equal(describeRedisError(new Error("Stream isn't writeable and enableOfflineQueue options is false"), { host: "::1", port: 6379 }), "Redis at [::1]:6379 is not connected (reconnecting)");
  // Cluster and Sentinel: the failing node is named, or the configuration's list.
  const cluster = { host: "127.0.0.1", port: 6379, subject: "Redis Cluster 10.0.0.1:7000, 10.0.0.2:7000" };
  const nodeErr = Object.assign(err("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.2:7000"), { address: "10.0.0.2", port: 7000 });
  assert.equal(describeRedisError(nodeErr, cluster), "Redis at 10.0.0.2:7000 refuses connections (is redis-server running?)");
  assert.equal(describeRedisError(Object.assign(new Error("Failed to refresh slots cache."), { lastNodeError: nodeErr }), cluster), "Redis at 10.0.0.2:7000 refuses connections (is redis-server running?)");
  // Once every node is gone, the slot refresh's re-dials report only "Connection is closed".
  const closed = new Error("Connection is closed.");
  assert.equal(describeRedisError(Object.assign(new Error("Failed to refresh slots cache."), { lastNodeError: closed }), cluster), "Redis Cluster 10.0.0.1:7000, 10.0.0.2:7000: none of the nodes answers");
  assert.equal(describeRedisError(new Error("None of startup nodes is available"), cluster), "Redis Cluster 10.0.0.1:7000, 10.0.0.2:7000: none of the nodes answers");
  const sentinel = { host: "127.0.0.1", port: 6379, subject: 'Redis master "m" (sentinels 10.0.0.5:26379)' };
  assert.equal(describeRedisError(new Error("All sentinels are unreachable. Retrying from scratch after 10ms. Last error: x"), sentinel), 'Redis master "m" (sentinels 10.0.0.5:26379): none of the sentinels answers');
  assert.equal(describeRedisError(new Error("CLUSTERDOWN The cluster is down"), cluster), "Redis Cluster 10.0.0.1:7000, 10.0.0.2:7000: the cluster is down, some slots have no master (CLUSTERDOWN)");
});
