/**
 * The reconnect storm (issue 12): N clients logged in on msg_server A through the gateway, A
 * SIGKILLed, every client back on B through the gateway with the client library's reconnect
 * policy (ClientSession: jittered backoff, the server's retryAfterMs when admission control
 * refuses a login). Measures the time until all are back, per-client reconnect times, refusals,
 * and whether B and the gateway stayed responsive meanwhile (probes/). Messages sent to the storm's
 * clients while A was frozen just before the kill must all arrive after the reconnect.
 */
import { rmSync } from "node:fs";
import { ClientSession } from "../../services/client_common/session.js";
import type { FishChatClient } from "../../shared/client/client.js";
import { startCluster, statsOf, type Cluster, type ServiceProc } from "../../test/support/cluster.js";
import { waitFor } from "../../test/support/ports.js";
import { Tracker } from "../../test/support/tracker.js";
import { Latency, type LatencySummary } from "../bench/latency.js";
import { epochMs, LagSampler, probeWindow, startProbeProcess, type ProbeSummary } from "./probes.js";

export interface StormOptions {
  clients: number;
  /** loginAdmission.maxInProgress of both msg_servers... */
  bound: number;
  /** ...and loginAdmission.maxQueued. */
  queue: number;
  /** Storm clients that get one p2p message while A is frozen, before the kill (the first ones). */
  messages: number;
  /** The storm clients' re-login backoff (the client defaults are 250 and 8000). */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Give up waiting for all clients after this long. */
  timeoutMs: number;
  /** Progress lines (not the result). */
  log?: (line: string) => void;
}

export interface StormResult {
  clients: number;
  bound: number;
  queue: number;
  /** The first phase: all N logging in on A at once. */
  initialLoginMs: number;
  initialRefused: number;
  /** From the SIGKILL of A until the last client logged in again; -1 if not all came back in time. */
  allBackMs: number;
  back: number;
  backOnB: number;
  reconnect: LatencySummary;
  /** From the kill until each client saw its connection close (the rest is backoff, gateway and login). */
  noticed: LatencySummary;
  /** Logins B refused with IM_ERR_RATE_LIMITED during the storm (its loginsRefused counter). */
  refusedByB: number;
  /** The clients' view: failed attempts by cause (RATE_LIMITED, connection refused by dead A, ...); "RATE_LIMITED, same connection" were sent again on their connection. */
  failedAttempts: Record<string, number>;
  messages: { acknowledged: number; delivered: number; lost: number; storedTwice: number; deliveredAfterMs: number };
  probeB: ProbeSummary;
  probeGateway: ProbeSummary;
  maxLagMs: { msgServerB: number; gateway: number };
}

/** Logins started at once in the first phase (admission control on A takes care of the rest). */
const START_CONCURRENCY = 1000;
/** p2p sends one sender keeps in flight while filling the storm clients' inboxes. */
const SEND_WINDOW = 200;
const SENDERS = 4;

export async function runStorm(o: StormOptions): Promise<StormResult> {
  const log = o.log ?? (() => undefined);
  const cl = await startCluster(null, {
    msgServers: 2,
    conf: {
      // Per-address limits are the test cluster's (TEST_LIMITS: one address may log in any number); this is the bound under test.
      msg_server: { loginAdmission: { maxInProgress: o.bound, maxQueued: o.queue } },
      gateway: { maxConnections: Math.max(20_000, 2 * o.clients + 1000) },
    },
  });
  const sessions: ClientSession[] = [];
  const plain: FishChatClient[] = [];
  try {
    const [a, b] = cl.msgServers as [ServiceProc, ServiceProc];
    const gateway = cl.gateway!;
    // B leaves (SIGTERM: out of the registry at once), so that the gateway sends every client to A.
    await b.stop();
    await waitFor("gateway sees only A", async () => (await statsOf(gateway)).liveMsgServers === 1, 15_000);
    log(`logging ${o.clients} clients in on A (${a.addr}) through the gateway`);
    const tracker = new Tracker();
    const failedAttempts: Record<string, number> = {};
    const reconnectedAt = new Map<number, { ms: number; addr: string }>();
    const noticed = new Latency();
    let killedAt = Number.POSITIVE_INFINITY;
    const t1 = performance.now();
    for (let i = 0; i < o.clients; i++) sessions.push(stormClient(cl, i, o, tracker, { failed: failedAttempts, noticed, reconnectedAt }, () => killedAt));
    await pool(sessions, START_CONCURRENCY, (s) => s.start());
    const initialLoginMs = performance.now() - t1;
    const initialRefused = (await statsOf(a)).loginsRefused ?? 0;
    const misplaced = sessions.filter((s) => s.addr !== a.addr).length;
    if (misplaced > 0) throw new Error(`${misplaced} clients were not placed on A`);
    log(`all on A in ${(initialLoginMs / 1000).toFixed(1)} s (${initialRefused} logins refused by admission control); starting B`);

    await b.start();
    await waitFor("gateway sees A and B", async () => (await statsOf(gateway)).liveMsgServers === 2, 15_000);
    await cl.routerReady();
    const senders = await Promise.all(Array.from({ length: SENDERS }, (_, k) => cl.client(`storm-sender-${k}`, { via: b.addr, heartbeatMs: 5000 })));
    plain.push(...senders);
    const probes = await startProbeProcess(gateway.addr, b.addr);

    // Frozen, A takes nothing more: these messages are acknowledged by the store and wait for their recipients.
    a.proc!.kill("SIGSTOP");
    const m = Math.min(o.messages, o.clients);
    log(`A frozen; sending ${m} messages to its clients`);
    await Promise.all(senders.map((s, k) => sendEach(s, k, m, tracker)));
    const refusedBefore = (await statsOf(b)).loginsRefused ?? 0;
    const lag = new LagSampler([b, gateway], 250);
    log("SIGKILL A");
    killedAt = performance.now();
    const killedAtEpoch = epochMs();
    await a.kill("SIGKILL");
    let allBackMs = -1;
    try {
      await waitFor("every client logged in again", () => reconnectedAt.size === o.clients, o.timeoutMs, 20);
      allBackMs = Math.max(...[...reconnectedAt.values()].map((r) => r.ms));
    } catch {
      log(`only ${reconnectedAt.size} of ${o.clients} back after ${o.timeoutMs} ms`);
    }
    const stormEnd = killedAtEpoch + (allBackMs >= 0 ? allBackMs : o.timeoutMs);
    await lag.stop();
    let deliveredAfterMs = -1;
    try {
      await waitFor("every acknowledged message delivered", () => tracker.lost().length === 0, 30_000, 50);
      deliveredAfterMs = performance.now() - killedAt;
    } catch {
      // Reported as lost below.
    }
    const samples = await probes.stop();
    const refusedByB = ((await statsOf(b)).loginsRefused ?? 0) - refusedBefore;
    const reconnect = new Latency();
    for (const r of reconnectedAt.values()) reconnect.record(r.ms * 1000);
    return {
      clients: o.clients,
      bound: o.bound,
      queue: o.queue,
      initialLoginMs,
      initialRefused,
      allBackMs,
      back: reconnectedAt.size,
      backOnB: [...reconnectedAt.values()].filter((r) => r.addr === b.addr).length,
      reconnect: reconnect.summary(),
      noticed: noticed.summary(),
      refusedByB,
      failedAttempts,
      messages: {
        acknowledged: tracker.acked.size,
        delivered: [...tracker.acked.values()].filter((u) => tracker.seen.has(u)).length,
        lost: tracker.lost().length,
        storedTwice: tracker.storedTwice().length,
        deliveredAfterMs,
      },
      probeB: probeWindow(samples.p2p, killedAtEpoch, stormEnd),
      probeGateway: probeWindow(samples.gateway, killedAtEpoch, stormEnd),
      maxLagMs: { msgServerB: lag.maxLagMs.get(b) ?? -1, gateway: lag.maxLagMs.get(gateway) ?? -1 },
    };
  } finally {
    for (const s of sessions) s.close();
    for (const c of plain) c.close();
    await cl.stop();
    // The store of N clients' inboxes and the logs: nothing to keep once the figures are out.
    rmSync(cl.dir, { recursive: true, force: true });
  }
}

/** Storm client i: the client library's reconnecting session, acknowledging what it receives. */
function stormClient(
  cl: Cluster,
  i: number,
  o: StormOptions,
  tracker: Tracker,
  seen: { failed: Record<string, number>; noticed: Latency; reconnectedAt: Map<number, { ms: number; addr: string }> },
  killedAt: () => number,
): ClientSession {
  const { failed, reconnectedAt } = seen;
  const id = `storm-${i}`;
  let token: Promise<string> | null = null;
  const s = new ClientSession({
    gateway: cl.gateway!.addr,
    clientId: id,
    token: () => (token ??= cl.token(id)),
    codec: "line",
    heartbeatMs: 20_000,
    requestTimeoutMs: 10_000,
    connectTimeoutMs: o.timeoutMs,
    reconnectMinMs: o.reconnectMinMs,
    reconnectMaxMs: o.reconnectMaxMs,
    autoAck: true,
  });
  tracker.watch(s);
  // Counted from the kill on: the first phase's refusals are A's loginsRefused.
  const stormOn = () => Number.isFinite(killedAt());
  s.on("reconnecting", (_ms: number, _why: string, err?: { code?: string }) => {
    if (!stormOn()) return;
    if (err?.code) failed[err.code] = (failed[err.code] ?? 0) + 1;
    else seen.noticed.record((performance.now() - killedAt()) * 1000);
  });
  s.on("loginRefused", (_ms: number, err: { code: string }) => {
    if (stormOn()) failed[`${err.code}, same connection`] = (failed[`${err.code}, same connection`] ?? 0) + 1;
  });
  s.on("connected", (addr: string, again: boolean) => {
    if (again && stormOn() && !reconnectedAt.has(i)) reconnectedAt.set(i, { ms: performance.now() - killedAt(), addr });
  });
  return s;
}

/** Sender k sends one message to each storm client i < m with i % SENDERS === k, SEND_WINDOW in flight. */
async function sendEach(sender: FishChatClient, k: number, m: number, tracker: Tracker): Promise<void> {
  const mine: number[] = [];
  for (let i = k; i < m; i += SENDERS) mine.push(i);
  await pool(mine, SEND_WINDOW, async (i) => {
    const cmid = `m${i}`;
    const r = await sender.sendP2P(`storm-${i}`, cmid, cmid);
    tracker.acked.set(cmid, r.uuid);
  });
}

/** Run `fn` over `items`, at most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
