import type { ComponentPart, ComponentStatus, ComponentView, ProcessView } from "./api-types.js";
import type { RedisProbe } from "./redis-health.js";

/** What the monitor found out about Redis at this sample. */
export interface RedisSample {
  addr: string;
  /** "Redis at 127.0.0.1:6379", for sentences. */
  subject: string;
  /** null before the first probe finished. */
  probe: RedisProbe | null;
  /** The registry read's error, worded; null when it succeeded. */
  registryError: string | null;
  registryReadMs: number | null;
  slowMs: number;
}

export interface StoreLimits {
  staleMs: number;
  slowMs: number;
}

const ms = (n: number) => (n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`);
const secs = (n: number) => `${Math.round(n / 100) / 10} s`;

function component(key: ComponentView["key"], name: string, addr: string | null, status: ComponentStatus, reason: string, latencyMs: number | null): ComponentView {
  return { key, name, addr, status, reason, latencyMs, registryReadMs: null, since: null, lastError: null, lastErrorAt: null, parts: [] };
}

export function redisComponent(r: RedisSample): ComponentView {
  const p = r.probe;
  const read = r.registryReadMs !== null && r.registryError === null ? ` · registry read ${ms(r.registryReadMs)}` : "";
  let c: ComponentView;
  if (!p) c = component("redis", "Redis", r.addr, "unknown", "not probed yet", null);
  else if (!p.ok) c = component("redis", "Redis", r.addr, "down", p.error ?? `${r.subject} does not answer`, null);
  else if (r.registryError) c = component("redis", "Redis", r.addr, "degraded", `answers PING, but the registry read failed: ${r.registryError}`, p.latencyMs);
  else if (p.warning) c = component("redis", "Redis", r.addr, "degraded", p.warning, p.latencyMs);
  else if (p.latencyMs !== null && p.latencyMs > r.slowMs) c = component("redis", "Redis", r.addr, "degraded", `slow: PING took ${ms(p.latencyMs)}${read}`, p.latencyMs);
  else c = component("redis", "Redis", r.addr, "up", `PING ${ms(p.latencyMs ?? 0)}${read}`, p.latencyMs);
  c.registryReadMs = r.registryReadMs;
  return c;
}

/**
 * The store as each msg_server sees it, from the storeOkAgoMs / storeLatencyMs gauges of its
 * beat (the beat reaches the monitor over its own link, so this works with Redis down). Only
 * msg_servers whose figures are current count: `fresh` says which.
 */
export function storeComponent(servers: readonly { view: ProcessView; fresh: boolean }[], lim: StoreLimits): ComponentView {
  const parts: ComponentPart[] = [];
  for (const { view: p, fresh } of servers) {
    if (!fresh) continue;
    const okAgo = p.stats.storeOkAgoMs;
    const latency = p.stats.storeLatencyMs;
    if (okAgo === undefined) continue; // a v1 (or older) msg_server: it does not report on the store
    const lat = latency !== undefined && latency >= 0 ? latency : null;
    const part = (status: ComponentStatus, reason: string): ComponentPart => ({ key: p.key, id: p.id, status, reason, latencyMs: lat });
    if (okAgo < 0) parts.push(part("unknown", "no store read has finished yet"));
    else if (okAgo > lim.staleMs) {
      const pending = lat !== null && lat > lim.staleMs ? `; one has been pending for ${secs(lat)}` : "";
      parts.push(part("down", `no successful store read for ${secs(okAgo)}${pending}`));
    } else if (lat !== null && lat > lim.slowMs) parts.push(part("degraded", `slow: a store read took ${ms(lat)}`));
    else parts.push(part("up", `store read ${lat === null ? "ok" : ms(lat)}`));
  }
  const known = parts.filter((x) => x.status !== "unknown");
  const bad = known.filter((x) => x.status !== "up");
  const slowest = Math.max(...known.map((x) => x.latencyMs ?? 0), 0);
  const n = (k: number) => `${k} msg_server${k === 1 ? "" : "s"}`;
  let status: ComponentStatus;
  let reason: string;
  if (known.length === 0) {
    status = "unknown";
    reason = parts.length > 0 ? "no msg_server has finished a store read yet" : "no msg_server in contact reports on the store";
  } else if (bad.length === 0) {
    status = "up";
    reason = `read by ${n(known.length)}, slowest ${ms(slowest)}`;
  } else if (bad.every((x) => x.status === "down") && bad.length === known.length) {
    status = "down";
    reason = known.length === 1 ? `${bad[0]!.id}: ${bad[0]!.reason}` : `fails on every msg_server (${known.length}): ${bad[0]!.reason}`;
  } else {
    status = "degraded";
    reason = `${bad.length} of ${n(known.length)}: ${bad.map((x) => `${x.id} ${x.reason}`).join("; ")}`;
  }
  const c = component("store", "Store", null, status, reason, known.length > 0 ? slowest : null);
  c.parts = parts;
  return c;
}

/**
 * Remembers, per component, when its status last changed and its last failure, so the page can
 * say "down for 40 s" and "last error 3 min ago: …" after a recovery.
 */
export class ComponentMemory {
  private readonly seen = new Map<string, { status: ComponentStatus; since: number; lastError: string | null; lastErrorAt: number | null }>();

  /** Fill since / lastError of this sample's components (mutates them). */
  apply(components: ComponentView[], now: number): void {
    for (const c of components) {
      let m = this.seen.get(c.key);
      if (!m) {
        m = { status: c.status, since: now, lastError: null, lastErrorAt: null };
        this.seen.set(c.key, m);
      }
      if (m.status !== c.status) {
        m.status = c.status;
        m.since = now;
      }
      if (c.status === "down" || c.status === "degraded") {
        m.lastError = c.reason;
        m.lastErrorAt = now;
      }
      c.since = m.since;
      c.lastError = m.lastError;
      c.lastErrorAt = m.lastErrorAt;
    }
  }
}
