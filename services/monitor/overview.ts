import type { RegistryEntry } from "../../shared/bus/process-registry.js";
import type { ClusterTotals, HistoryPoint, Overview, ProcessRole, ProcessView } from "./api-types.js";
import { ERRORS, MSGS_IN, MSGS_OUT, ROUTED_OUT, serverPoint } from "./catalog.js";

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
  registry: readonly RegistryEntry[];
  registryError: string | null;
  beats: ReadonlyMap<string, Beat>;
  links: readonly LinkState[];
  /** Counter rates keyed by "<role>:<id>". */
  rates: ReadonlyMap<string, Record<string, number>>;
}

const ROLE_ORDER: Record<ProcessRole, number> = { gateway: 0, msg_server: 1, router: 2, manager: 3, monitor: 4 };

const secondsAgo = (now: number, t: number) => `${Math.max(0, Math.round((now - t) / 100) / 10)} s ago`;

function msgServerStatus(s: ClusterState, alive: boolean, link: LinkState | undefined, beat: Beat | undefined): Pick<ProcessView, "status" | "reason"> {
  if (!alive) return { status: "down", reason: "registry heartbeat expired" };
  if (!link?.up) return { status: "no-contact", reason: "alive in the registry, but the monitor's link to it is down (re-dialling)" };
  if (!beat) return { status: "no-contact", reason: "link up, waiting for the first monitor beat" };
  if (s.now - beat.receivedAt > s.beatStaleMs) return { status: "no-contact", reason: `link up, but the last monitor beat was ${secondsAgo(s.now, beat.receivedAt)}` };
  return { status: "up", reason: "heartbeat and monitor beat are fresh" };
}

function processView(s: ClusterState, e: RegistryEntry): ProcessView {
  const { info, alive } = e;
  const key = `${info.role}:${info.id}`;
  let status: ProcessView["status"] = alive ? "up" : "down";
  let reason = alive ? "heartbeat is fresh" : "registry heartbeat expired";
  let stats = info.stats;
  let link: ProcessView["link"] = null;
  let lastBeatAt: number | null = null;
  let rates = s.rates.get(key) ?? {};
  if (info.role === "msg_server") {
    const l = s.links.find((x) => x.addr === info.addr);
    const beat = s.beats.get(info.id);
    ({ status, reason } = msgServerStatus(s, alive, l, beat));
    link = l ? { up: l.up, connects: l.connects } : { up: false, connects: 0 };
    lastBeatAt = beat?.receivedAt ?? null;
    // The beat is fresher than the registry copy; rates only exist while beats flow.
    if (status === "up" && beat) stats = beat.stats;
    else rates = {};
  }
  const uptimeMs = status === "down" ? null : (stats.uptimeMs ?? Math.max(0, s.now - info.startedAt));
  return {
    key,
    role: info.role,
    id: info.id,
    addr: info.addr,
    pid: info.pid,
    version: info.version,
    startedAt: info.startedAt,
    status,
    reason,
    uptimeMs,
    lastHeartbeat: info.ts,
    registered: true,
    link,
    lastBeatAt,
    stats,
    rates: status === "down" ? {} : rates,
  };
}

/** A msg_server from the seed list that is not in the registry: configured, never seen alive. */
function seedView(l: LinkState): ProcessView {
  return {
    key: `msg_server:${l.addr}`,
    role: "msg_server",
    id: l.addr,
    addr: l.addr,
    pid: null,
    version: null,
    startedAt: null,
    status: "down",
    reason: l.up ? "the monitor's link is up but the server never registered in Redis" : "configured in msgServerList but never registered",
    uptimeMs: null,
    lastHeartbeat: null,
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
    connections: over((p) => p.stats.connections ?? 0),
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
  const processes = s.registry.map((e) => processView(s, e));
  const registered = new Set(processes.filter((p) => p.role === "msg_server").map((p) => p.addr));
  for (const l of s.links) if (!registered.has(l.addr)) processes.push(seedView(l));
  processes.sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.id.localeCompare(b.id));

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
    totals,
    processes,
  };
  return { overview, point };
}
