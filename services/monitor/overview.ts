import type { RegistryEntry } from "../../shared/bus/process-registry.js";
import { splitHostPort } from "../../shared/config/common.js";
import type { ClusterTotals, ComponentView, HistoryPoint, Overview, ProcessRole, ProcessView } from "./api-types.js";
import { clientConnections, ERRORS, MSGS_IN, MSGS_OUT, ROUTED_OUT, serverPoint } from "./catalog.js";
import { redisComponent, storeComponent, type RedisSample, type StoreLimits } from "./components.js";

/** One msg_server's latest /sysctrl/monitor beat. */
export interface Beat {
  serverId: string;
  /** Monitor's clock when it arrived. */
  receivedAt: number;
  /** Sender's clock (`Ts`); rates are computed on it. */
  ts: number;
  sessionNum: number;
  stats: Record<string, number>;
}

export interface LinkState {
  addr: string;
  up: boolean;
  connects: number;
}

/** Everything the monitor knows at one instant; the overview is a pure function of it. */
export interface ClusterState {
  now: number;
  monitorId: string;
  sampleMs: number;
  historyMs: number;
  beatStaleMs: number;
  /** A live process whose heartbeat has not changed for this long is stale. */
  heartbeatStaleMs: number;
  registry: readonly RegistryEntry[];
  registryError: string | null;
  /** Monitor's clock when each registry entry ("<role>:<id>") was last seen with a new heartbeat. */
  heartbeatSeen: ReadonlyMap<string, number>;
  redis: RedisSample;
  store: StoreLimits;
  beats: ReadonlyMap<string, Beat>;
  links: readonly LinkState[];
  /** Counter rates keyed by "<role>:<id>". */
  rates: ReadonlyMap<string, Record<string, number>>;
}

const ROLE_ORDER: Record<ProcessRole, number> = { gateway: 0, msg_server: 1, router: 2, manager: 3, api: 4, monitor: 5 };

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 100) / 10)} s`;
const secondsAgo = (now: number, t: number) => `${seconds(now - t)} ago`;

/** "all interfaces :17000" for a wildcard bind, which no client can dial as such; else the address. */
export function displayAddr(addr: string): string {
  const i = addr.lastIndexOf(":");
  if (i < 0) return addr;
  const { host, port } = splitHostPort(addr);
  return host === "0.0.0.0" || host === "::" || host === "" ? `all interfaces :${port}` : addr;
}

function beatFresh(s: ClusterState, link: LinkState | undefined, beat: Beat | undefined): beat is Beat {
  return !!link?.up && !!beat && s.now - beat.receivedAt <= s.beatStaleMs;
}

/** Why a msg_server is not in contact, or null when its link is up and its beat fresh. */
function contactProblem(s: ClusterState, link: LinkState | undefined, beat: Beat | undefined): string | null {
  if (!link?.up) return "the monitor's link to it is down (re-dialling)";
  if (!beat) return "link up, waiting for the first monitor beat";
  if (s.now - beat.receivedAt > s.beatStaleMs) return `link up, but the last monitor beat was ${secondsAgo(s.now, beat.receivedAt)}`;
  return null;
}

/**
 * Status from the registry (TTL key, heartbeat age, readability) and, for a msg_server, from the
 * monitor's own link and beats. Only a process everything is fresh for is "up"; while the
 * registry cannot be read nothing is.
 */
function statusOf(s: ClusterState, e: RegistryEntry, hbAgeMs: number | null, link: LinkState | undefined, beat: Beat | undefined): Pick<ProcessView, "status" | "reason"> {
  const isServer = e.info.role === "msg_server";
  if (!e.alive) return { status: "down", reason: "registry heartbeat expired" };
  const contact = isServer ? contactProblem(s, link, beat) : null;
  const seen = hbAgeMs === null ? "never" : secondsAgo(s.now, s.now - hbAgeMs);
  if (s.registryError) {
    // The age is in its own column; say what is still known first-hand.
    const direct = !isServer ? ": this is its last known state" : contact ? `; ${contact}` : "; the monitor's link and beats are fresh";
    return { status: "stale", reason: `Redis cannot be read${direct}` };
  }
  if (hbAgeMs !== null && hbAgeMs > s.heartbeatStaleMs) {
    return { status: "stale", reason: `registry heartbeat is late: last seen ${seen}, expected within ${seconds(s.heartbeatStaleMs)}` };
  }
  if (contact) return { status: "no-contact", reason: `alive in the registry, but ${contact}` };
  return { status: "up", reason: isServer ? `registry heartbeat fresh, link up, monitor beat ${secondsAgo(s.now, beat!.receivedAt)}` : "registry heartbeat fresh" };
}

function processView(s: ClusterState, e: RegistryEntry): { view: ProcessView; fresh: boolean } {
  const { info, alive } = e;
  const key = `${info.role}:${info.id}`;
  const seenAt = s.heartbeatSeen.get(key);
  const hbAgeMs = seenAt === undefined ? null : Math.max(0, s.now - seenAt);
  let stats = info.stats;
  let link: ProcessView["link"] = null;
  let lastBeatAt: number | null = null;
  let rates = s.rates.get(key) ?? {};
  const l = info.role === "msg_server" ? s.links.find((x) => x.addr === info.addr) : undefined;
  const beat = info.role === "msg_server" ? s.beats.get(info.id) : undefined;
  const { status, reason } = statusOf(s, e, hbAgeMs, l, beat);
  // Figures are current when they come from a fresh beat (msg_server) or a fresh registry read.
  let fresh = status === "up";
  if (info.role === "msg_server") {
    link = l ? { up: l.up, connects: l.connects } : { up: false, connects: 0 };
    lastBeatAt = beat?.receivedAt ?? null;
    // The beat is fresher than the registry copy; rates only exist while beats flow.
    fresh = alive && beatFresh(s, l, beat);
    if (fresh && beat) stats = beat.stats;
    else rates = {};
  }
  const uptimeMs = status === "down" ? null : (stats.uptimeMs ?? Math.max(0, s.now - info.startedAt));
  const view: ProcessView = {
    key,
    role: info.role,
    id: info.id,
    addr: info.addr,
    displayAddr: displayAddr(info.addr),
    pid: info.pid,
    version: info.version,
    startedAt: info.startedAt,
    status,
    reason,
    uptimeMs,
    lastHeartbeat: info.ts,
    heartbeatAgeMs: hbAgeMs,
    registered: true,
    link,
    lastBeatAt,
    stats,
    rates: status === "down" ? {} : rates,
  };
  return { view, fresh };
}

/** A msg_server from the seed list that is not in the registry: configured, never seen alive. */
function seedView(l: LinkState): ProcessView {
  return {
    key: `msg_server:${l.addr}`,
    role: "msg_server",
    id: l.addr,
    addr: l.addr,
    displayAddr: displayAddr(l.addr),
    pid: null,
    version: null,
    startedAt: null,
    status: "down",
    reason: l.up ? "the monitor's link is up but the server never registered in Redis" : "configured in msgServerList but never registered",
    uptimeMs: null,
    lastHeartbeat: null,
    heartbeatAgeMs: null,
    registered: false,
    link: { up: l.up, connects: l.connects },
    lastBeatAt: null,
    stats: {},
    rates: {},
  };
}

const sum = (o: Record<string, number>, names: readonly string[]) => names.reduce((a, n) => a + (o[n] ?? 0), 0);

function totalsOf(ps: readonly ProcessView[]): ClusterTotals {
  const live = ps.filter((p) => p.status !== "down");
  const servers = live.filter((p) => p.role === "msg_server");
  const over = (f: (p: ProcessView) => number) => servers.reduce((a, p) => a + f(p), 0);
  return {
    processes: ps.length,
    processesUp: ps.filter((p) => p.status === "up").length,
    msgServers: ps.filter((p) => p.role === "msg_server").length,
    msgServersUp: servers.filter((p) => p.status === "up").length,
    sessions: over((p) => p.stats.sessions ?? 0),
    connections: over((p) => clientConnections(p.stats)),
    msgsInPerSec: over((p) => sum(p.rates, MSGS_IN)),
    msgsOutPerSec: over((p) => sum(p.rates, MSGS_OUT)),
    // Counted once, at the msg_server that handed the message to the router.
    routedPerSec: over((p) => sum(p.rates, ROUTED_OUT)),
    outboundBytes: over((p) => p.stats.outboundBytes ?? 0),
    errorsPerSec: live.reduce((a, p) => a + sum(p.rates, ERRORS), 0),
  };
}

/** The cluster as the API and the dashboard show it, plus the history sample of this instant. */
export function buildOverview(s: ClusterState): { overview: Overview; point: HistoryPoint } {
  const views = s.registry.map((e) => processView(s, e));
  const processes = views.map((v) => v.view);
  const registered = new Set(processes.filter((p) => p.role === "msg_server").map((p) => p.addr));
  for (const l of s.links) if (!registered.has(l.addr)) processes.push(seedView(l));
  processes.sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.id.localeCompare(b.id));

  const components: ComponentView[] = [
    redisComponent(s.redis),
    storeComponent(
      views.filter((v) => v.view.role === "msg_server"),
      s.store,
    ),
  ];
  const totals = totalsOf(processes);
  const servers: HistoryPoint["servers"] = {};
  for (const p of processes) {
    // A down server gets no point: its charts show a gap rather than a misleading zero.
    if (p.role === "msg_server" && p.status !== "down") servers[p.id] = serverPoint(p.stats, p.rates);
  }
  const point: HistoryPoint = {
    t: s.now,
    cluster: {
      sessions: totals.sessions,
      connections: totals.connections,
      msgsInPerSec: totals.msgsInPerSec,
      msgsOutPerSec: totals.msgsOutPerSec,
      routedPerSec: totals.routedPerSec,
      outboundBytes: totals.outboundBytes,
      msgServersUp: totals.msgServersUp,
      processesUp: totals.processesUp,
    },
    servers,
  };
  const overview: Overview = {
    now: s.now,
    monitorId: s.monitorId,
    sampleMs: s.sampleMs,
    historyMs: s.historyMs,
    registryError: s.registryError,
    components,
    totals,
    processes,
  };
  return { overview, point };
}
