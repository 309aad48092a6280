import type { HistoryPoint, HistoryResponse, SeriesData } from "../../services/monitor/api-types.js";

/**
 * The page's copy of the monitor's history: loaded once per (re)connection from api/history, then
 * extended by one point per tick event. Trimmed to the monitor's own history length, so a tab left
 * open for days holds no more than the monitor does.
 */
export class SeriesStore {
  cluster: SeriesData = { t: [], series: {} };
  servers = new Map<string, SeriesData>();

  constructor(private keepMs: number) {}

  load(h: HistoryResponse, keepMs: number): void {
    this.keepMs = keepMs;
    this.cluster = h.cluster;
    this.servers = new Map(Object.entries(h.servers));
  }

  append(p: HistoryPoint): void {
    const last = this.cluster.t[this.cluster.t.length - 1];
    if (last !== undefined && p.t <= last) return; // already in the loaded history
    push(this.cluster, p.t, p.cluster);
    for (const id of Object.keys(p.servers)) if (!this.servers.has(id)) this.servers.set(id, { t: [], series: {} });
    // A server missing from the point is down: a null keeps a visible gap in its charts.
    for (const [id, s] of this.servers) push(s, p.t, p.servers[id] ?? null);
    const cutoff = p.t - this.keepMs;
    trim(this.cluster, cutoff);
    for (const s of this.servers.values()) trim(s, cutoff);
  }

  /** Columns of one scope restricted to t >= sinceMs, in uPlot's order: [t (seconds), ...series]. */
  static window(s: SeriesData | undefined, names: readonly string[], sinceMs: number): [number[], ...(number | null)[][]] {
    if (!s) return [[], ...names.map(() => [])];
    let i = 0;
    while (i < s.t.length && s.t[i]! < sinceMs) i++;
    return [s.t.slice(i).map((t) => t / 1000), ...names.map((n) => (s.series[n] ?? []).slice(i))];
  }

  /** One series of several servers on the cluster's time axis (servers joined later get nulls before). */
  alignedOnCluster(ids: readonly string[], name: string, sinceMs: number): (number | null)[][] {
    const t = this.cluster.t.filter((x) => x >= sinceMs);
    return ids.map((id) => {
      const s = this.servers.get(id);
      if (!s) return t.map(() => null);
      const at = new Map<number, number | null>();
      const col = s.series[name] ?? [];
      s.t.forEach((x, i) => at.set(x, col[i] ?? null));
      return t.map((x) => at.get(x) ?? null);
    });
  }
}

function push(s: SeriesData, t: number, values: Record<string, number | null> | null): void {
  s.t.push(t);
  const names = new Set([...Object.keys(s.series), ...Object.keys(values ?? {})]);
  for (const n of names) {
    const col = (s.series[n] ??= s.t.slice(0, -1).map(() => null));
    col.push(values?.[n] ?? null);
  }
}

function trim(s: SeriesData, cutoff: number): void {
  let n = 0;
  while (n < s.t.length && s.t[n]! < cutoff) n++;
  if (n === 0) return;
  s.t.splice(0, n);
  for (const col of Object.values(s.series)) col.splice(0, n);
}
