import test from "node:test";
import assert from "node:assert/strict";
import { runStorm } from "../../scripts/storm/storm.js";

/**
 * The reconnect storm of `npm run storm` (docs/RELIABILITY.md "Reconnect storm") at CI size: 1,500
 * clients on msg_server A, messages sent to them while A is frozen, A SIGKILLed, all back on B
 * through the gateway. The admission bound is set low (16) so that it must refuse logins; the
 * timing bounds are generous (2 shared cores): they catch a storm that never settles or a B that
 * stops acknowledging, not a slow machine.
 */
const CLIENTS = 1500;

test("reconnect storm: 1,500 clients of a killed msg_server all come back, nothing acknowledged is lost, admission control refuses some, B keeps acknowledging", { timeout: 120_000 }, async (t) => {
  const r = await runStorm({ clients: CLIENTS, bound: 16, queue: 64, messages: CLIENTS, reconnectMinMs: 250, reconnectMaxMs: 8000, timeoutMs: 45_000 });
  const about = JSON.stringify(r);
  t.diagnostic(about);
  assert.equal(r.back, CLIENTS, `every client logged in again: ${about}`);
  assert.equal(r.backOnB, CLIENTS, "all of them on B, the live msg_server");
  assert.ok(r.allBackMs > 0 && r.allBackMs < 45_000, `all back in ${r.allBackMs} ms`);
  assert.equal(r.messages.acknowledged, CLIENTS, "one acknowledged message per client, sent while A was frozen");
  assert.equal(r.messages.lost, 0, `no acknowledged message lost: ${about}`);
  assert.equal(r.messages.storedTwice, 0);
  assert.ok(r.refusedByB > 0, `admission control engaged on B (loginsRefused ${r.refusedByB})`);
  const heard = Object.entries(r.failedAttempts).filter(([k]) => k.startsWith("IM_ERR_RATE_LIMITED")).reduce((n, [, v]) => n + v, 0);
  assert.ok(heard > 0, `the clients heard the refusals and their waits: ${JSON.stringify(r.failedAttempts)}`);
  // The probe sends every 50 ms: over a storm of some seconds it must have sent, never failed, never gone long without an acknowledgement.
  assert.ok(r.probeB.sent >= Math.min(20, r.allBackMs / 200), `probe sends during the storm: ${JSON.stringify(r.probeB)}`);
  assert.equal(r.probeB.failed, 0, "no probe send failed");
  assert.ok(r.probeB.maxGapMs < 5000, `B kept acknowledging: longest gap ${r.probeB.maxGapMs} ms`);
  assert.equal(r.probeGateway.failed, 0, "the gateway answered every probe");
});
