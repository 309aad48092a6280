import uPlot from "uplot";
import { h } from "../dom.js";

export interface LineSpec {
  label: string;
  color: string;
  /** Dashed lines mark totals drawn over per-server lines. */
  dash?: boolean;
  fill?: boolean;
}

export interface ChartSpec {
  title: string;
  lines: LineSpec[];
  format(v: number): string;
  height?: number;
  /** Smallest top of the y axis, so an idle series is drawn as a flat zero, not blown-up noise. */
  minTop?: number;
  /** Allowed y tick steps: whole numbers for counts, powers of two for bytes. */
  steps?: number[];
}

/** 1, 2, 5, 10, 20, 50, ...: ticks for things that come in whole units. */
export const WHOLE_STEPS = Array.from({ length: 27 }, (_, i) => [1, 2, 5][i % 3]! * 10 ** Math.floor(i / 3));
/** 1, 2, 4, ... 2^40: byte ticks land on KiB/MiB/GiB boundaries. */
export const BYTE_STEPS = Array.from({ length: 41 }, (_, i) => 2 ** i);

const pad = (n: number) => String(n).padStart(2, "0");

/** 24-hour clock labels; seconds only when the visible span is short enough to need them. */
function timeLabels(u: uPlot, splits: number[]): string[] {
  const min = u.scales.x?.min ?? 0;
  const max = u.scales.x?.max ?? 0;
  const withSeconds = max - min <= 10 * 60;
  return splits.map((s) => {
    const d = new Date(s * 1000);
    return withSeconds ? `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  });
}

export const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#dc2626"];

const AXIS = { stroke: "#64748b", grid: { stroke: "#eef2f6", width: 1 }, ticks: { stroke: "#e2e8f0", width: 1 }, font: "11px system-ui, sans-serif" };

/**
 * A live line chart: uPlot in a card, resized with its container, with an overlay message when
 * there is nothing to draw (no data yet, or the server is down).
 */
export class TimeChart {
  readonly el: HTMLElement;
  private plot: uPlot | null = null;
  private readonly box: HTMLElement;
  private readonly overlay: HTMLElement;
  private readonly now: HTMLElement;
  private readonly resize: ResizeObserver;
  private data: uPlot.AlignedData = [[]];

  constructor(private spec: ChartSpec) {
    this.now = h("span", { class: "chart-now" });
    this.overlay = h("div", { class: "chart-empty" }, "Waiting for data…");
    this.box = h("div", { class: "chart-box" }, this.overlay);
    this.el = h("div", { class: "card chart-card" }, h("div", { class: "chart-title" }, h("h3", {}, spec.title), this.now), this.box);
    this.resize = new ResizeObserver(() => this.fit());
    this.resize.observe(this.box);
  }

  /** Labels of the lines; a change rebuilds the chart (a server joined or left). */
  get labels(): string {
    return this.spec.lines.map((l) => l.label).join("\u0000");
  }

  setLines(lines: LineSpec[]): void {
    this.spec = { ...this.spec, lines };
    this.plot?.destroy();
    this.plot = null;
  }

  /**
   * `data` is [t in seconds, ...one column per line]. `empty` overrides the overlay text, e.g.
   * to say a server is down; otherwise the overlay shows until two points exist.
   */
  update(data: uPlot.AlignedData, headline: string, empty: string | null = null): void {
    this.data = data;
    this.now.textContent = headline;
    const points = data[0].length;
    const message = empty ?? (points < 2 ? "Waiting for data…" : null);
    this.overlay.textContent = message ?? "";
    this.overlay.hidden = message === null;
    if (!this.plot) this.create();
    else this.plot.setData(data);
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
  }

  private create(): void {
    const width = Math.max(200, this.box.clientWidth);
    const fmt = this.spec.format;
    const opts: uPlot.Options = {
      width,
      height: this.spec.height ?? 170,
      legend: { show: true, live: false },
      cursor: { points: { size: 6 }, drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        // Always include zero, so a flat line at 5 reads as 5 and not as "the middle".
        y: { range: (_u, _min, max) => [0, Math.max(this.spec.minTop ?? 1, max > 0 ? max * 1.15 : 0)] },
      },
      axes: [
        { ...AXIS, space: 80, values: timeLabels },
        { ...AXIS, size: 64, incrs: this.spec.steps, values: (_u, splits) => splits.map((v) => fmt(v)) },
      ],
      series: [
        { label: "time", value: (_u, v) => (v === null ? "–" : new Date(v * 1000).toLocaleTimeString("en-GB", { hour12: false })) },
        ...this.spec.lines.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: l.dash ? 1.5 : 2,
          dash: l.dash ? [5, 4] : undefined,
          fill: l.fill ? `${l.color}1f` : undefined,
          points: { show: false },
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => (v === null ? "–" : fmt(v)),
        })),
      ],
    };
    this.plot = new uPlot(opts, this.data, this.box);
  }

  private fit(): void {
    if (!this.plot) return;
    const w = this.box.clientWidth;
    if (w > 0 && Math.abs(w - this.plot.width) > 1) this.plot.setSize({ width: w, height: this.spec.height ?? 170 });
  }
}
