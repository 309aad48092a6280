import test from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { isRedisUnavailable } from "../../../shared/bus/redis-errors.js";
import { ImError, ErrorCode } from "../../../shared/errors.js";

/** A port nothing listens on: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test("what a real ioredis client says about an unreachable Redis counts as unavailable", async () => {
  const port = await closedPort();
  // The options of shared/bus/redis.ts: one retry, then the command fails.
  const redis = new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 1, retryStrategy: () => 20, lazyConnect: false });
  redis.on("error", () => {});
  try {
    const err = await redis.get("k").then(() => null, (e: unknown) => e);
    assert.ok(err instanceof Error, "the command failed");
    assert.equal(isRedisUnavailable(err), true, `${(err as Error).name}: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
  const closed = new Redis({ host: "127.0.0.1", port, lazyConnect: true, enableOfflineQueue: false });
  const err2 = await closed.get("k").then(() => null, (e: unknown) => e);
  assert.equal(isRedisUnavailable(err2), true, String(err2));
  closed.disconnect();
});

test("bugs and our own errors are not taken for an unreachable Redis", () => {
  assert.equal(isRedisUnavailable(new TypeError("Cannot read properties of undefined")), false);
  assert.equal(isRedisUnavailable(new ImError(ErrorCode.IM_ERR_BAD_ARGS, "usage")), false);
  assert.equal(isRedisUnavailable(new Error("ERR wrong number of arguments for 'get' command")), false);
  assert.equal(isRedisUnavailable("Connection is closed."), false, "only Error objects");
  assert.equal(isRedisUnavailable(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })), true);
  assert.equal(isRedisUnavailable(new Error("Command timed out")), true);
});
