import type { Overview } from "../../../services/monitor/api-types.js";
import { bytes, int, rate } from "../format.js";
import { SeriesStore } from "../series-store.js";
import { BYTE_STEPS, PALETTE, TimeChart, WHOLE_STEPS, type LineSpec } from "./chart.js";

const TOTAL_COLOR = "#0f172a";

/** Cluster-wide charts: sessions and backlog per server with the total, and total message rates. */
export class ClusterCharts {
  private readonly sessions = new TimeChart({ title: "Online sessions", lines: [], format: (v) => int(v), minTop: 5, steps: WHOLE_STEPS });
  private readonly rates = new TimeChart({
    title: "Messages per second",
    lines: [
      { label: "in", color: PALETTE[0]!, fill: true },
      { label: "out", color: PALETTE[1]! },
      { label: "routed", color: PALETTE[2]! },
    ],
    format: (v) => rate(v),
    minTop: 5,
  });
  private readonly backlog = new TimeChart({ title: "Send backlog", lines: [], format: (v) => bytes(v), minTop: 1024, steps: BYTE_STEPS });

  constructor(el: HTMLElement) {
    el.append(this.sessions.el, this.rates.el, this.backlog.el);
  }

  update(o: Overview, store: SeriesStore, sinceMs: number, colorOf: (id: string) => string): void {
    const ids = o.processes.filter((p) => p.role === "msg_server").map((p) => p.id);
    const lines = (): LineSpec[] => [{ label: "total", color: TOTAL_COLOR, dash: true }, ...ids.map((id) => ({ label: id, color: colorOf(id) }))];
    for (const c of [this.sessions, this.backlog]) {
      const want = lines();
      if (c.labels !== want.map((l) => l.label).join("\u0000")) c.setLines(want);
    }
    const [t, sessions, msgsIn, msgsOut, routed, outbound] = SeriesStore.window(
      store.cluster,
      ["sessions", "msgsInPerSec", "msgsOutPerSec", "routedPerSec", "outboundBytes"],
      sinceMs,
    );
    this.sessions.update([t, sessions!, ...store.alignedOnCluster(ids, "sessions", sinceMs)], int(o.totals.sessions));
    this.rates.update([t, msgsIn!, msgsOut!, routed!], `${rate(o.totals.msgsInPerSec)} in · ${rate(o.totals.msgsOutPerSec)} out`);
    this.backlog.update([t, outbound!, ...store.alignedOnCluster(ids, "outboundBytes", sinceMs)], bytes(o.totals.outboundBytes));
  }
}
