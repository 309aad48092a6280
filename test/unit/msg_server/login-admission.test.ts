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
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

test("schema: defaults are on and bounded; a minimum above the maximum is refused", () => {
  const d = loginAdmissionSchema.parse(undefined);
  assert.deepEqual(d, { maxInProgress: 64, retryAfterMinMs: 200, retryAfterMaxMs: 30_000, maxHoldMs: 10_000 });
  assert.equal(loginAdmissionSchema.safeParse({ retryAfterMinMs: 5000, retryAfterMaxMs: 1000 }).success, false);
  assert.equal(loginAdmissionSchema.safeParse({ maxInProgress: 0 }).success, false);
});

test("the bound: slots up to maxInProgress, idempotent release, a slot frees itself after maxHoldMs", async () => {
  const a = new LoginAdmission(loginAdmissionSchema.parse({ maxInProgress: 2, maxHoldMs: 30 }));
  const r1 = a.tryEnter();
  const r2 = a.tryEnter();
  assert.ok(r1 && r2);
  assert.equal(a.tryEnter(), null, "the third is refused");
  r1();
  r1();
  assert.equal(a.inProgress, 1, "a second release of the same slot frees nothing more");
  assert.ok(a.tryEnter(), "a freed slot is taken again");
  assert.equal(a.tryEnter(), null);
  await waitFor("held slots released by the hold cap", () => a.inProgress === 0, 2000, 5);
  r2();
  assert.equal(a.inProgress, 0, "releasing after the cap does not go below zero");
});

test("the wait: a place in a queue spaced by the mean login time over the bound, jittered, within [min, max]", () => {
  let now = 0;
  let rnd = 0.5;
  const cfg = loginAdmissionSchema.parse({ maxInProgress: 10, retryAfterMinMs: 100, retryAfterMaxMs: 2000 });
  const a = new LoginAdmission(cfg, () => now, () => rnd);
  // Teach it logins of 200 ms: ten at a time means one place every 20 ms.
  for (let i = 0; i < 200; i++) {
    const r = a.tryEnter()!;
    now += 200;
    r();
  }
  assert.ok(Math.abs(a.meanLoginMs - 200) < 1, `mean ${a.meanLoginMs}`);
  const waits = Array.from({ length: 50 }, () => a.retryAfterMs());
  // rnd 0.5: min * 1.1 + place, place = k * 20 ms.
  assert.deepEqual(waits.slice(0, 3), [130, 150, 170]);
  assert.ok(waits.every((w, i) => i === 0 || w > waits[i - 1]!), "later refusals get later places");
  for (let i = 0; i < 200; i++) a.retryAfterMs();
  assert.equal(a.retryAfterMs(), 2000, "capped at the maximum");
  now += 60_000;
  assert.equal(a.retryAfterMs(), 130, "the queue drained with time: back to the minimum");
  rnd = 0;
  const low = a.retryAfterMs();
  rnd = 0.999;
  const high = a.retryAfterMs();
  assert.ok(low >= 100 && high > low, `jitter spreads equal places (${low} .. ${high}) and never goes below the minimum`);
});

test("core: past the bound a line login gets RATE_LIMITED with the wait, a v1 packet login is closed, neither costs an attempt of the address", async (t) => {
  const bus = memoryBus();
  const claims = gate();
  const claim = bus.sessions.claim.bind(bus.sessions);
  // A slow directory (Redis under load): logins stay in progress until the test lets them through.
  bus.sessions.claim = async (id, loc) => {
    await claims.wait;
    return claim(id, loc);
  };
  const h = await startCore(t, {
    bus,
    conf: {
      loginAdmission: { maxInProgress: 2, retryAfterMinMs: 100, retryAfterMaxMs: 1000 },
      limits: { loginAttemptsPerAddress: 3, maxConnectionsPerAddress: 100 },
    },
  });
  const [alice, bob, carol] = [h.connect(), h.connect(), h.connect()];
  const a = alice.request(`SEND_CLIENT_ID alice ${await h.token("alice")}`);
  const b = bob.request(`SEND_CLIENT_ID bob ${await h.token("bob")}`);
  await waitFor("two logins in progress", () => h.core.admission.inProgress === 2, 2000, 5);

  const refused = await carol.request(`SEND_CLIENT_ID carol ${await h.token("carol")}`);
  assert.equal(codeOf(refused), "IM_ERR_RATE_LIMITED");
  assert.match(refused.args[1] ?? "", /too many logins in progress/);
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
  const h = await startCore(t, { conf: { loginAdmission: { maxInProgress: 1 } } });
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
