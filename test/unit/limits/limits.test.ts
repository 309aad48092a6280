import test from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { addressKey } from "../../../shared/limits/address.js";
import { ConnectionLimiter, createAddressLimits, FailedAuthLimiter, LoginRateLimiter } from "../../../shared/limits/address-limiters.js";
import { limitsSchema } from "../../../shared/limits/config.js";
import { SendLimiter } from "../../../shared/limits/send-limiter.js";

/** A clock the test moves by hand (ms), so token-bucket arithmetic is checked exactly. */
function clock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** Entries in a rate-limiter-flexible memory store: how we see that they expire. */
function storeSize(limiter: LoginRateLimiter | FailedAuthLimiter): number {
  return (limiter as unknown as { limiter: { _memoryStorage: { _storage: Map<string, unknown> } } }).limiter._memoryStorage._storage.size;
}

test("schema: every limit has a default, unknown keys are refused", () => {
  const d = limitsSchema.parse(undefined);
  assert.equal(d.sendMessagesPerSec, 50);
  assert.equal(d.sendBurstBytes, 1024 * 1024);
  assert.equal(d.maxConnectionsPerAddress, 256);
  assert.equal(d.failedAuthPerAddress, 10);
  assert.equal(d.ipv6PrefixBits, 64);
  assert.equal(limitsSchema.safeParse({ sendMessagesPerSec: 0 }).success, false);
  assert.equal(limitsSchema.safeParse({ maxConnections: 5 }).success, false);
});

test("send limiter: burst, then the refill rate; retryAfterMs is exact and a refusal costs nothing", () => {
  const c = clock();
  const s = new SendLimiter({ sendMessagesPerSec: 2, sendBurstMessages: 3, sendBytesPerSec: 1000, sendBurstBytes: 10_000 }, c.now);
  assert.deepEqual([s.take(10), s.take(10), s.take(10)], [0, 0, 0]);
  assert.equal(s.take(10), 500, "one token comes back every 500 ms");
  c.advance(200);
  assert.equal(s.take(10), 300);
  c.advance(300);
  assert.equal(s.take(10), 0);
  assert.equal(s.take(10), 500);
});

test("send limiter: bytes are limited too, both buckets must agree, and a huge message needs a full bucket", () => {
  const c = clock();
  const s = new SendLimiter({ sendMessagesPerSec: 1000, sendBurstMessages: 1000, sendBytesPerSec: 100, sendBurstBytes: 100 }, c.now);
  assert.equal(s.take(60), 0);
  assert.equal(s.take(60), 200, "40 bytes left, 20 more take 200 ms");
  c.advance(200);
  assert.equal(s.take(60), 0);
  // 500 bytes > the 100-byte bucket: allowed once the bucket is full, and it empties it.
  assert.equal(s.take(500), 1000, "the bucket is empty: a full refill takes 1 s");
  c.advance(990);
  assert.equal(s.take(500), 10);
  c.advance(10);
  assert.equal(s.take(500), 0);
  assert.equal(s.take(1), 10);
});

test("property: a sender as fast as allowed never beats burst + rate x time", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 20 }), fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 50, maxLength: 300 }), (rate, burst, gaps) => {
      const c = clock();
      const s = new SendLimiter({ sendMessagesPerSec: rate, sendBurstMessages: burst, sendBytesPerSec: 1e9, sendBurstBytes: 1e9 }, c.now);
      let sent = 0;
      let elapsed = 0;
      for (const gap of gaps) {
        c.advance(gap);
        elapsed += gap;
        const wait = s.take(1);
        if (wait === 0) sent++;
        else {
          // The advertised wait is honest: after it, the message passes.
          c.advance(wait);
          elapsed += wait;
          assert.equal(s.take(1), 0);
          sent++;
        }
        assert.ok(sent <= burst + (rate * elapsed) / 1000 + 1e-9, `${sent} sent in ${elapsed} ms at ${rate}/s burst ${burst}`);
      }
    }),
  );
});

test("address keys: IPv4 as is, mapped IPv4 unwrapped, IPv6 by /64 prefix", () => {
  assert.equal(addressKey("203.0.113.7"), "203.0.113.7");
  assert.equal(addressKey("::ffff:203.0.113.7"), "203.0.113.7");
  assert.equal(addressKey("2001:db8:0:1:aaaa:bbbb:cccc:dddd"), "2001:db8:0:1:0:0:0:0/64");
  assert.equal(addressKey("2001:db8:0:1::5"), "2001:db8:0:1:0:0:0:0/64");
  assert.notEqual(addressKey("2001:db8:0:2::5"), addressKey("2001:db8:0:1::5"));
  assert.equal(addressKey("2001:db8:0:1:ffff::1", 56), "2001:db8:0:0:0:0:0:0/56");
  assert.equal(addressKey("2001:db8::1", 128), "2001:db8:0:0:0:0:0:1/128");
  assert.equal(addressKey("fe80::1%eth0"), "fe80:0:0:0:0:0:0:0/64");
  assert.equal(addressKey("::1.2.3.4", 128), "0:0:0:0:0:0:102:304/128");
  assert.equal(addressKey(undefined), "unknown");
});

test("property: an IPv6 address gets one key however it is written", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.integer({ min: 32, max: 128 }), (groups, bits) => {
      const full = groups.map((g) => g.toString(16).padStart(4, "0")).join(":");
      const compressed = new URL(`http://[${full}]/`).hostname.slice(1, -1); // WHATWG form: "::" and no leading zeros
      assert.equal(addressKey(compressed, bits), addressKey(full, bits));
      const key = addressKey(full, 128);
      assert.equal(key, `${groups.map((g) => g.toString(16)).join(":")}/128`);
    }),
  );
});

test("connections per address: a maximum, idempotent release, no entry left for closed addresses", () => {
  const c = new ConnectionLimiter(2);
  const r1 = c.acquire("10.0.0.1");
  const r2 = c.acquire("::ffff:10.0.0.1");
  assert.ok(r1 && r2);
  assert.equal(c.acquire("10.0.0.1"), null);
  const other = c.acquire("10.0.0.2");
  assert.ok(other);
  assert.equal(c.count("10.0.0.1"), 2);
  r1();
  r1(); // a second close of the same socket must not free someone else's slot
  assert.equal(c.count("10.0.0.1"), 1);
  assert.ok(c.acquire("10.0.0.1"));
  // One /64 is one host.
  const v6 = new ConnectionLimiter(1);
  assert.ok(v6.acquire("2001:db8::1"));
  assert.equal(v6.acquire("2001:db8::2"), null);
  const all = new ConnectionLimiter(5);
  const releases = ["a", "b", "c"].map((h) => all.acquire(`192.0.2.${h.charCodeAt(0)}`)!);
  assert.equal(all.addresses, 3);
  for (const r of releases) r();
  assert.equal(all.addresses, 0);
});

test("login attempts per address: limited per window, then allowed again; entries expire", async () => {
  const l = new LoginRateLimiter({ loginAttemptsPerAddress: 3, loginWindowSec: 1, ipv6PrefixBits: 64 });
  assert.deepEqual(await Promise.all([1, 2, 3].map(() => l.attempt("198.51.100.1"))), [0, 0, 0]);
  const wait = await l.attempt("198.51.100.1");
  assert.ok(wait > 0 && wait <= 1000, `retry after ${wait} ms`);
  assert.equal(await l.attempt("198.51.100.2"), 0, "another address is not affected");
  assert.equal(storeSize(l), 2);
  await sleep(1100);
  assert.equal(storeSize(l), 0, "nothing is kept after the window");
  assert.equal(await l.attempt("198.51.100.1"), 0);
});

test("failed logins: the Nth failure blocks the address for failedAuthBlockSec", async () => {
  const f = new FailedAuthLimiter({ failedAuthPerAddress: 3, failedAuthWindowSec: 60, failedAuthBlockSec: 1, ipv6PrefixBits: 64 });
  const a = "203.0.113.9";
  assert.equal(await f.blockedFor(a), 0);
  assert.equal(await f.recordFailure(a), 0);
  assert.equal(await f.recordFailure(a), 0);
  assert.equal(await f.blockedFor(a), 0);
  const block = await f.recordFailure(a);
  assert.ok(block > 900 && block <= 1000, `blocked for ${block} ms`);
  const left = await f.blockedFor(a);
  assert.ok(left > 0 && left <= 1000);
  assert.equal(await f.blockedFor("203.0.113.10"), 0);
  await sleep(1100);
  assert.equal(await f.blockedFor(a), 0, "the block ends");
  assert.equal(storeSize(f), 0, "and leaves nothing behind");
});

test("createAddressLimits wires the three limiters from one config", async () => {
  const limits = createAddressLimits(limitsSchema.parse({ maxConnectionsPerAddress: 1, failedAuthPerAddress: 1 }));
  assert.ok(limits.connections.acquire("192.0.2.1"));
  assert.equal(limits.connections.acquire("192.0.2.1"), null);
  assert.equal(await limits.logins.attempt("192.0.2.1"), 0);
  assert.ok((await limits.failedAuth.recordFailure("192.0.2.1")) > 0, "with failedAuthPerAddress 1 the first failure blocks");
});
