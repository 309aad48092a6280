import type { HistoryPoint, SeriesData } from "./api-types.js";
import { CLUSTER_SERIES, SERVER_SERIES } from "./api-types.js";

/**
 * A fixed-capacity ring of samples, one Float64Array per column: memory is allocated once and
 * never grows, whatever the uptime. Missing values are stored as NaN and served as null.
 */
export class SeriesRing {
  private readonly t: Float64Array;
  private readonly cols: Map<string, Float64Array>;
  private head = 0; // next write index
  private count = 0;
  /** Time of the last push that carried values; -Infinity when none ever did. */
  lastDataAt = -Infinity;

  constructor(
    readonly capacity: number,
    readonly names: readonly string[],
  ) {
    this.t = new Float64Array(capacity);
    this.cols = new Map(names.map((n) => [n, new Float64Array(capacity)]));
  }

  get length(): number {
    return this.count;
  }

  push(t: number, values: Record<string, number | null> | null): void {
    this.t[this.head] = t;
    if (values) this.lastDataAt = t;
    for (const [name, col] of this.cols) {
      const v = values?.[name];
      col[this.head] = v === null || v === undefined ? NaN : v;
    }
    this.head = (this.head + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Samples taken at or after `sinceMs`, oldest first. */
  toJSON(sinceMs = 0): SeriesData {
    const first = (this.head - this.count + this.capacity) % this.capacity;
    const idx: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const j = (first + i) % this.capacity;
      if (this.t[j]! >= sinceMs) idx.push(j);
    }
    const series: Record<string, (number | null)[]> = {};
    for (const [name, col] of this.cols) series[name] = idx.map((j) => (Number.isNaN(col[j]!) ? null : col[j]!));
    return { t: idx.map((j) => this.t[j]!), series };
  }
}

/**
 * Rolling history of the cluster totals and of each msg_server. A server first seen later gets
 * null-filled points for the times before it existed, so every series of a response shares one
 * time axis. A server with no data left in the window is dropped, and the number of servers is
 * capped, so memory stays bounded even with servers coming and going under new addresses.
 */
export class History {
  readonly capacity: number;
  private readonly cluster: SeriesRing;
  private readonly servers = new Map<string, SeriesRing>();

  constructor(
    private readonly historyMs: number,
    readonly sampleMs: number,
    private readonly maxServers = 256,
  ) {
    this.capacity = Math.max(2, Math.ceil(historyMs / sampleMs));
    this.cluster = new SeriesRing(this.capacity, CLUSTER_SERIES);
  }

  append(p: HistoryPoint): void {
    this.cluster.push(p.t, p.cluster);
    for (const id of Object.keys(p.servers)) {
      if (this.servers.has(id) || this.servers.size >= this.maxServers) continue;
      const ring = new SeriesRing(this.capacity, SERVER_SERIES);
      // Back-fill with the cluster's times so all series align.
      for (const t of this.cluster.toJSON().t.slice(0, -1)) ring.push(t, null);
      this.servers.set(id, ring);
    }
    for (const [id, ring] of this.servers) {
      ring.push(p.t, p.servers[id] ?? null);
      if (p.t - ring.lastDataAt > this.historyMs) this.servers.delete(id);
    }
  }

  serverIds(): string[] {
    return [...this.servers.keys()];
  }

  clusterSeries(sinceMs = 0): SeriesData {
    return this.cluster.toJSON(sinceMs);
  }

  serverSeries(id: string, sinceMs = 0): SeriesData | null {
    return this.servers.get(id)?.toJSON(sinceMs) ?? null;
  }
}
