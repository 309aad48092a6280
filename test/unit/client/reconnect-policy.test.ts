import assert from "node:assert/strict";
import test from "node:test";
import { ReconnectPolicy } from "../../../shared/client/reconnect-policy.js";
import { ErrorCode, ImError, RateLimitedError } from "../../../shared/errors.js";

test("reconnect policy: jittered exponential backoff for failures that say nothing, reset by a login", () => {
  let r = 1;
  const p = new ReconnectPolicy(100, 1000, () => r);
  const lost = new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "connection closed");
  assert.deepEqual([p.next(), p.next(lost), p.next(lost), p.next(lost), p.next(lost), p.next(lost)], [100, 200, 400, 800, 1000, 1000]);
  r = 0;
  assert.equal(p.next(lost), 50, "full jitter: down to half the minimum");
  p.reset();
  r = 1;
  assert.equal(p.next(), 100, "after a login the backoff starts again");
});

test("reconnect policy: IM_ERR_RATE_LIMITED's wait is honoured as given, capped, and is not a backoff step", () => {
  const p = new ReconnectPolicy(100, 10_000, () => 1);
  const lost = new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "connection closed");
  assert.equal(p.next(lost), 100);
  assert.equal(p.next(new RateLimitedError("too many logins in progress", 2345)), 2345);
  assert.equal(p.next(new RateLimitedError("too many logins in progress", 5)), 5, "shorter than the backoff too: the server knows its queue");
  assert.equal(p.next(new RateLimitedError("a hostile server", 86_400_000)), 120_000, "a wait of a day is cut to two minutes");
  assert.equal(p.next(lost), 200, "the refusals did not advance the backoff");
  assert.equal(p.next(new RateLimitedError("no wait given", 0)), 400, "a refusal without a wait backs off like any failure");
});
