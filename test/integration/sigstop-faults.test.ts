import assert from "node:assert/strict";
import test, { type TestContext } from "node:test";
import { type FishChatClient, requestMsgServer } from "../../shared/client/client.js";
import { redisKeys } from "../../shared/bus/keys.js";
import { decodeLocation } from "../../shared/bus/session-directory.js";
import { ErrorCode, ImError } from "../../shared/errors.js";
import { startCluster, type Cluster } from "../support/cluster.js";
import { sleep, waitFor } from "../support/ports.js";
import { verify } from "../support/reconnecting.js";
import { quantile, SteadyTraffic } from "../support/steady.js";
import { Tracker } from "../support/tracker.js";

/**
 * Issue 12: the gateway and Redis frozen (SIGSTOP: a debugger, a cgroup freeze, a VM stall)
 * during steady traffic between two msg_servers, counted by the checker. A frozen process still
 * has its listening sockets, so peers connect and then hear nothing: only timeouts help.
 *
 * - Gateway: clients already logged in never talk to it and must not notice; a new login must
 *   either fail fast with a coded error (a short request timeout) or wait and succeed once the
 *   gateway resumes.
 * - Redis: messages never wait on Redis (the store is the truth), so sends keep being
 *   acknowledged, and a send that fails does so with a code; what Redis lost meanwhile (its keys
 *   expire by the wall clock, so a freeze longer than the session and registry TTLs empties it
 *   at once on resume) must be back within a bound after SIGCONT.
 */

const keys = redisKeys("fc:");
const FREEZE_MS = 5000;
/** Session entries outlive the freeze by nothing: they all expire when Redis resumes. */
const SESSION_TTL_MS = 3000;
const ALLOWED = new Set<string>([ErrorCode.IM_ERR_UNAVAILABLE, ErrorCode.IM_ERR_TIMEOUT]);

interface Setup {
  steady: SteadyTraffic;
  trackers: Tracker[];
  /** Every logged-in client id -> its msg_server's address. */
  placed: Map<string, string>;
  clients: FishChatClient[];
}

/** Four pairs, each recipient on one msg_server and its sender on the other, sending every 10 ms. */
async function pairs(cl: Cluster, tag: string, via: (i: number, role: "rx" | "tx") => string | undefined): Promise<Setup> {
  const trackers: Tracker[] = [];
  const placed = new Map<string, string>();
  const clients: FishChatClient[] = [];
  const list = [];
  for (let i = 0; i < 4; i++) {
    const tracker = new Tracker();
    const rx = await cl.client(`rx-${tag}-${i}`, { via: via(i, "rx"), setup: (c) => tracker.watch(c) });
    const tx = await cl.client(`tx-${tag}-${i}`, { via: via(i, "tx"), requestTimeoutMs: 3000 });
    for (const c of [rx, tx]) placed.set(c.clientId, c.addr);
    clients.push(rx, tx);
    trackers.push(tracker);
    list.push({ to: rx.clientId, from: () => tx, tracker });
  }
  const steady = new SteadyTraffic(list, { paceMs: 10 });
  await waitFor("traffic flowing", () => trackers.every((t) => t.acked.size >= 20), 20_000);
  return { steady, trackers, placed, clients };
}

function latencies(t: TestContext, what: string, s: SteadyTraffic, from: number, to: number): number[] {
  const w = s.window(from, to);
  const errors = [...s.errors].map(([c, n]) => `${c} × ${n}`).join(", ") || "none";
  t.diagnostic(`${what}: ${w.length} sends acknowledged, p50 ${quantile(w, 0.5).toFixed(0)} ms, p99 ${quantile(w, 0.99).toFixed(0)} ms, max ${Math.max(...w).toFixed(0)} ms; failed attempts: ${errors}`);
  return w;
}

/** How a login attempt ended: when, and with which error code (null: logged in). */
async function attempt(fn: () => Promise<unknown>): Promise<{ at: number; code: string | null }> {
  try {
    await fn();
    return { at: Date.now(), code: null };
  } catch (err) {
    return { at: Date.now(), code: err instanceof ImError ? err.code : String(err) };
  }
}

test("SIGSTOP of the gateway and of Redis during traffic", { timeout: 150_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 2, conf: { msg_server: { sessionTtlMs: SESSION_TTL_MS } } });
  const [a, b] = cl.msgServers as [Cluster["msgServers"][0], Cluster["msgServers"][0]];
  const gw = cl.gateway!;

  await t.test(`gateway frozen ${FREEZE_MS / 1000} s: logged-in clients keep chatting; new logins fail fast with a code, or wait and succeed after SIGCONT`, async (st) => {
    // Logged in through the gateway before the freeze, as apps are.
    const s = await pairs(cl, "gw", () => undefined);
    gw.proc!.kill("SIGSTOP");
    const frozenAt = Date.now();
    let contAt = 0;
    try {
      // A client with a short request timeout gives up with IM_ERR_TIMEOUT; one still waiting at the resume is answered then.
      const f = await attempt(() => requestMsgServer(gw.addr, "line", 1500));
      assert.equal(f.code, ErrorCode.IM_ERR_TIMEOUT, "a login through the frozen gateway fails with a coded timeout");
      assert.ok(f.at - frozenAt < 1500 + 2000, `and fails fast (${f.at - frozenAt} ms)`);
      await sleep(FREEZE_MS - 3000 - (Date.now() - frozenAt));
      const patient = attempt(async () => (await cl.client("patient-gw")).close());
      await sleep(FREEZE_MS - (Date.now() - frozenAt));
      gw.proc!.kill("SIGCONT");
      contAt = Date.now();
      const p = await patient;
      assert.equal(p.code, null, "a login waiting on the frozen gateway (5 s timeout) succeeds after SIGCONT");
      st.diagnostic(`a login with a 1.5 s timeout failed ${f.at - frozenAt} ms into the freeze with ${f.code}; one waiting since 3 s before SIGCONT logged in ${p.at - contAt} ms after it`);
      assert.ok(p.at - contAt < 2000, `within 2 s of SIGCONT (${p.at - contAt} ms)`);
    } finally {
      if (!contAt) gw.proc!.kill("SIGCONT");
    }
    const t0 = Date.now();
    (await cl.client("after-gw")).close();
    st.diagnostic(`a fresh login through the gateway ${Date.now() - t0} ms after the freeze`);
    await sleep(500);
    await s.steady.stop();
    const w = latencies(st, "during the freeze", s.steady, frozenAt, contAt);
    assert.deepEqual([...s.steady.errors], [], "no send failed: logged-in clients never talk to the gateway");
    assert.ok(w.length > (4 * (contAt - frozenAt)) / 100, `they kept sending throughout (${w.length} acknowledged)`);
    assert.ok(quantile(w, 0.99) < 500, `p99 ${quantile(w, 0.99).toFixed(0)} ms < 500 ms`);
    for (const tr of s.trackers) await verify(tr, tr.acked.size);
    for (const c of s.clients) c.close();
  });

  await t.test(`Redis frozen ${FREEZE_MS / 1000} s (longer than every TTL in it): sends acknowledged or coded errors, nothing lost, Redis refilled after SIGCONT`, async (st) => {
    const s = await pairs(cl, "redis", (i, role) => ((i % 2 === 0) === (role === "rx") ? a.addr : b.addr));
    const probe = cl.redis.client();
    cl.redis.signal("SIGSTOP");
    const frozenAt = Date.now();
    let contAt = 0;
    let late: FishChatClient | null = null;
    try {
      await sleep(500);
      // A login now: its claim times out; it is accepted without a directory entry, or refused with a code.
      const login = await attempt(async () => (late = await cl.client("late-redis", { via: a.addr })));
      st.diagnostic(`a login during the freeze: ${login.code ?? "accepted"} after ${login.at - frozenAt - 500} ms`);
      assert.ok(login.code === null || ALLOWED.has(login.code), `the login succeeded or failed with a code (${login.code})`);
      await sleep(FREEZE_MS - (Date.now() - frozenAt));
    } finally {
      cl.redis.signal("SIGCONT");
      contAt = Date.now();
    }
    if (late) s.placed.set("late-redis", a.addr);
    // Recovery: every session entry back (re-created by the refresh, every sessionTtlMs / 3),
    // and the gateway handing out servers again (their registry entries rewritten by heartbeats).
    const sessionsAt = await waitFor("every session back in Redis", async () => {
      const vals = await probe.mget(...[...s.placed.keys()].map((id) => keys.session(id)));
      return [...s.placed.values()].every((addr, k) => decodeLocation(vals[k])?.serverId === addr) ? Date.now() : 0;
    }, 20_000, 50);
    const gatewayAt = await waitFor("the gateway hands out a msg_server", async () => ((await requestMsgServer(gw.addr, "line", 1000)) ? Date.now() : 0), 20_000, 50);
    await sleep(1000);
    await s.steady.stop();
    const during = latencies(st, "during the freeze", s.steady, frozenAt, contAt);
    st.diagnostic(`after SIGCONT: every session in Redis again in ${sessionsAt - contAt} ms, the gateway handing out servers in ${gatewayAt - contAt} ms`);
    for (const code of s.steady.errors.keys()) assert.ok(ALLOWED.has(code), `a failed send carries IM_ERR_UNAVAILABLE or IM_ERR_TIMEOUT (got ${code})`);
    assert.ok(during.length > 50, `sends were acknowledged while Redis was frozen (${during.length})`);
    for (const tr of s.trackers) await verify(tr, tr.acked.size);
    // Bound: the next refresh (sessionTtlMs / 3, 1 s) plus the Redis client's queued commands and timeouts (2 s each).
    assert.ok(sessionsAt - contAt < 8000, `sessions re-registered within 8 s of SIGCONT (${sessionsAt - contAt} ms)`);
    assert.ok(gatewayAt - contAt < 8000, `the gateway hands out servers within 8 s of SIGCONT (${gatewayAt - contAt} ms)`);
    (late as FishChatClient | null)?.close();
    for (const c of s.clients) c.close();
  });
});
