/**
 * Admission control of the login path (issue 12, reconnect storms): the bound on logins in
 * progress, the queue-shaped wait given to refused logins, and how the core applies both: line
 * clients get IM_ERR_RATE_LIMITED with the wait, v1 packet clients are closed, a refusal costs
 * no token check and no login attempt of the address, and a slot is held until the sync is done.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { memoryBus } from "../../../shared/bus/bus.js";
import { Cmd, type Command } from "../../../shared/protocol/commands.js";
import { encodePacket } from "../../../shared/protocol/packet-codec.js";
import { loginAdmissionSchema } from "../../../services/msg_server/config.js";
import { LoginAdmission } from "../../../services/msg_server/login-admission.js";
import { startCore } from "../../support/core.js";
import { waitFor } from "../../support/ports.js";

const codeOf = (c: Command) => (c.name === Cmd.ERR ? c.args[0] : c.name);

/** A gate a test opens by hand: work awaiting it is "in progress" until then. */
/** A slow directory (Redis under load): logins stay in progress until the test opens the gate. */
function slowDirectory(): { bus: ReturnType<typeof memoryBus>; claims: ReturnType<typeof gate> } {
  const bus = memoryBus();
  const claims = gate();
  const claim = bus.sessions.claim.bind(bus.sessions);
  bus.sessions.claim = async (id, loc) => {
    await claims.wait;
    return claim(id, loc);
  };
  return { bus, claims };
}

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

test("schema: defaults are on and bounded; a minimum above the maximum is refused", () => {
  const d = loginAdmissionSchema.parse(undefined);
  assert.deepEqual(d, { maxInProgress: 64, maxQueued: 4096, retryAfterMinMs: 200, retryAfterMaxMs: 30_000, maxHoldMs: 10_000 });
  assert.equal(loginAdmissionSchema.safeParse({ retryAfterMinMs: 5000, retryAfterMaxMs: 1000 }).success, false);
  assert.equal(loginAdmissionSchema.safeParse({ maxInProgress: 0 }).success, false);
});

/** A slot given at once (not queued, not refused). */
const now = (x: ReturnType<LoginAdmission["enter"]>): (() => void) => {
  assert.equal(typeof x, "function", "a slot at once");
  return x as () => void;
};

test("the bound: slots up to maxInProgress, then a queue in arrival order, then refusal; idempotent release; the hold cap", async () => {
  // A hold cap long enough that a loaded machine's late turn cannot release a slot mid-test.
  const a = new LoginAdmission(loginAdmissionSchema.parse({ maxInProgress: 2, maxQueued: 2, maxHoldMs: 600 }));
  const r1 = now(a.enter());
  const r2 = now(a.enter());
  const q1 = a.enter();
  const q2 = a.enter();
  assert.ok(q1 instanceof Promise && q2 instanceof Promise, "the next two wait");
  assert.equal(a.enter(), null, "the fifth is refused");
  assert.deepEqual([a.inProgress, a.queued], [2, 2]);
  const order: number[] = [];
  void q1.then(() => order.push(1));
  void q2.then(() => order.push(2));
  r1();
  r1();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [1], "the slot went to the first in line, once");
  assert.deepEqual([a.inProgress, a.queued], [2, 1], "handed over, not freed: nobody jumps the queue");
  r2();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [1, 2]);
  assert.equal(a.inProgress, 2);
  await waitFor("held slots released by the hold cap", () => a.inProgress === 0, 5000, 5);
  assert.ok(typeof a.enter() === "function", "free again");
});

test("the wait: a place in a queue spaced by the rate logins complete at full load, jittered, within [min, max]", () => {
  let t = 0;
  let rnd = 0.5;
  const cfg = loginAdmissionSchema.parse({ maxInProgress: 10, maxQueued: 0, retryAfterMinMs: 100, retryAfterMaxMs: 2000 });
  const a = new LoginAdmission(cfg, () => t, () => rnd);
  assert.equal(a.ratePerSec, 312.5, "before anything completed at full load: the assumed rate, 10 slots of 32 ms");
  const waits = Array.from({ length: 50 }, () => a.retryAfterMs());
  // rnd 0.5: min * 1.1 + place, place = k * 3.2 ms.
  assert.deepEqual(waits.slice(0, 3), [113, 116, 120]);
  assert.ok(waits.every((w, i) => i === 0 || w > waits[i - 1]!), "later refusals get later places");
  for (let i = 0; i < 1000; i++) a.retryAfterMs();
  assert.equal(a.retryAfterMs(), 2000, "capped at the maximum");
  t += 60_000;
  assert.equal(a.retryAfterMs(), 113, "the queue drained with time: back to the minimum");

  // A quarter second of 100 completed logins and nobody waiting says nothing about capacity: still the assumed rate.
  t += 60_000;
  for (let i = 0; i < 100; i++) now(a.enter())();
  t += 250;
  assert.equal(a.ratePerSec, 312.5);
  // At full load (10 running, one refused) 50 completed in a quarter second: 200 per second.
  const held = Array.from({ length: 10 }, () => now(a.enter()));
  assert.equal(a.enter(), null);
  for (let i = 0; i < 50; i++) {
    held.shift()!();
    held.push(now(a.enter()));
  }
  assert.equal(a.ratePerSec, 312.5, "the quarter second is counted once it is over");
  t += 250;
  assert.equal(a.ratePerSec, 200);
  assert.deepEqual([a.retryAfterMs(), a.retryAfterMs()], [115, 120]);
  t += 2500;
  assert.equal(a.ratePerSec, 312.5, "after two seconds the measurement is forgotten");

  rnd = 0;
  const low = a.retryAfterMs();
  rnd = 0.999;
  const high = a.retryAfterMs();
  assert.ok(low >= 100 && high > low, `jitter spreads equal places (${low} .. ${high}) and never goes below the minimum`);
});

test("the wait counts the real queue ahead: a refusal behind 20 waiting logins comes after them", () => {
  const t = 0;
  const a = new LoginAdmission(loginAdmissionSchema.parse({ maxInProgress: 10, maxQueued: 20, retryAfterMinMs: 100 }), () => t, () => 0.5);
  for (let i = 0; i < 30; i++) a.enter();
  assert.equal(a.queued, 20);
  assert.equal(a.enter(), null);
  // 20 waiting + its own place, 3.2 ms apart: 21 * 3.2 = 67.2, plus 110.
  assert.equal(a.retryAfterMs(), 177);
});

test("core: past the bound a line login gets RATE_LIMITED with the wait, a v1 packet login is closed, neither costs an attempt of the address", async (t) => {
  const { bus, claims } = slowDirectory();
  const h = await startCore(t, {
    bus,
    conf: {
      loginAdmission: { maxInProgress: 2, maxQueued: 0, retryAfterMinMs: 100, retryAfterMaxMs: 1000 },
      limits: { loginAttemptsPerAddress: 3, maxConnectionsPerAddress: 100 },
    },
  });
  const [alice, bob, carol] = [h.connect(), h.connect(), h.connect()];
  const a = alice.request(`SEND_CLIENT_ID alice ${await h.token("alice")}`);
  const b = bob.request(`SEND_CLIENT_ID bob ${await h.token("bob")}`);
  await waitFor("two logins in progress", () => h.core.admission.inProgress === 2, 2000, 5);

  const refused = await carol.request(`SEND_CLIENT_ID carol ${await h.token("carol")}`);
  assert.equal(codeOf(refused), "IM_ERR_RATE_LIMITED");
  assert.match(refused.args[1] ?? "", /too many logins waiting/);
  const wait = Number(refused.args[2]);
  assert.ok(wait >= 100 && wait <= 1000, `retryAfterMs ${wait} within the configured range`);
  assert.equal(carol.closed, false, "a line client may retry on the same connection");

  const v1 = h.connect({ packet: true });
  v1.write(encodePacket({ name: Cmd.SEND_CLIENT_ID, args: ["dave", await h.token("dave")] }));
  await v1.until("the v1 client is closed, to reconnect", () => v1.closed);
  assert.equal(h.core.sessions.get("dave"), undefined);
  assert.equal(h.core.stats.loginsRefused, 2);
  assert.equal(h.core.gauges().loginsInProgress, 2);

  claims.open();
  assert.deepEqual([codeOf(await a), codeOf(await b)], [Cmd.OK, Cmd.OK]);
  await waitFor("slots released after the sync", () => h.core.admission.inProgress === 0, 2000, 5);
  // Two attempts of the address were used (alice, bob); the refusals were not counted: carol's retry is the third.
  assert.equal(codeOf(await carol.request(`SEND_CLIENT_ID carol ${await h.token("carol")}`)), Cmd.OK);
  const fourth = await h.connect().request(`SEND_CLIENT_ID erin ${await h.token("erin")}`);
  assert.equal(codeOf(fourth), "IM_ERR_RATE_LIMITED");
  assert.match(fourth.args[1] ?? "", /from your address/, "the fourth attempt is the address limiter's");
});

test("core: a slot is held until the login sync has read the store, and a failed login gives its slot back", async (t) => {
  const h = await startCore(t, { conf: { loginAdmission: { maxInProgress: 1, maxQueued: 0 } } });
  const sync = gate();
  const topicsOf = h.store.topicsOf.bind(h.store);
  h.store.topicsOf = async (id) => {
    await sync.wait;
    return topicsOf(id);
  };
  const alice = await h.login("alice");
  assert.equal(h.core.admission.inProgress, 1, "logged in (OK sent), sync still reading");
  assert.equal(codeOf(await h.connect().request(`SEND_CLIENT_ID bob ${await h.token("bob")}`)), "IM_ERR_RATE_LIMITED");
  sync.open();
  await waitFor("slot released when the sync is done", () => h.core.admission.inProgress === 0, 2000, 5);
  const bad = h.connect();
  assert.equal(codeOf(await bad.request("SEND_CLIENT_ID bob not-a-token")), "IM_ERR_AUTH_FAILED");
  assert.equal(h.core.admission.inProgress, 0, "the failed login released its slot");
  await h.login("bob");
  assert.equal(codeOf(await alice.request("SEND_PING PING")), Cmd.OK);
});

test("core: a login past the bound waits its turn in the queue and then succeeds; past the queue it is refused", async (t) => {
  const { bus, claims } = slowDirectory();
  const h = await startCore(t, { bus, conf: { loginAdmission: { maxInProgress: 1, maxQueued: 1 } } });
  const a = h.connect().request(`SEND_CLIENT_ID alice ${await h.token("alice")}`);
  await waitFor("alice in progress", () => h.core.admission.inProgress === 1, 2000, 5);
  const bob = h.connect();
  let bobAnswered = false;
  const b = bob.request(`SEND_CLIENT_ID bob ${await h.token("bob")}`).then((r) => {
    bobAnswered = true;
    return r;
  });
  await waitFor("bob queued", () => h.core.admission.queued === 1, 2000, 5);
  assert.equal(codeOf(await h.connect().request(`SEND_CLIENT_ID carol ${await h.token("carol")}`)), "IM_ERR_RATE_LIMITED", "the queue is full");
  assert.equal(bobAnswered, false, "bob is still waiting, not refused");
  claims.open();
  assert.deepEqual([codeOf(await a), codeOf(await b)], [Cmd.OK, Cmd.OK]);
  assert.equal(h.core.stats.loginsRefused, 1);
});
