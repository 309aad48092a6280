/**
 * The traces of one run on one time axis (`--trace-dir DIR` writes DIR/timeline.svg): a lane per
 * traced process, plus the tool's own delivery latency when it traced it. In each lane, on a
 * shared millisecond axis: event-loop lag (grey line, max per 100 ms), GC pauses (red bars, as
 * long as the pause, height = its duration), LMDB commit batches (blue dots, height = how long the
 * batch's oldest write waited). A latency spike in the top lane lines up with its cause below.
 */
import { type TraceFile, type TraceRecord, num } from "./trace-parse.js";
import { esc, fmtTick, line, linear, niceTicks, polyline, svgDoc, text } from "./svg.js";

const W = 1100;
const LEFT = 200;
const RIGHT = W - 20;
const LANE_H = 110;
const GAP = 24;
const TOP = 40;
/** Samples come every 100 ms; a longer gap means nothing happened. */
const MAX_SAMPLE_GAP_MS = 350;

/** Periodic samples split where one is missing (no deliveries between two steps): no line across the gap. */
function segments(events: readonly TraceRecord[]): TraceRecord[][] {
  const out: TraceRecord[][] = [];
  let cur: TraceRecord[] = [];
  for (const e of events) {
    if (cur.length > 0 && e.t - cur[cur.length - 1]!.t > MAX_SAMPLE_GAP_MS) {
      out.push(cur);
      cur = [];
    }
    cur.push(e);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export function timelineSvg(files: readonly TraceFile[], title: string): string {
  const all = files.flatMap((f) => f.events);
  if (all.length === 0) return svgDoc(W, 120, [text(W / 2, 60, "no trace events", 'text-anchor="middle"')]);
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = Number.NEGATIVE_INFINITY;
  for (const e of all) {
    if (e.t < t0) t0 = e.t;
    if (e.t > t1) t1 = e.t;
  }
  const x = linear(0, Math.max(1e-3, (t1 - t0) / 1000), LEFT, RIGHT);
  const xs = (t: number) => x((t - t0) / 1000);
  const H = TOP + files.length * (LANE_H + GAP) + 40;
  const body: string[] = [text(W / 2, 20, title, 'text-anchor="middle" font-size="14"')];
  const ticks = niceTicks(0, (t1 - t0) / 1000, 10);
  files.forEach((f, i) => {
    const top = TOP + i * (LANE_H + GAP);
    const bottom = top + LANE_H;
    let peak = 1;
    for (const e of f.events) peak = Math.max(peak, num(e, "ms") || 0, num(e, "maxMs") || 0);
    const yTicks = niceTicks(0, peak, 3);
    const yMax = yTicks[yTicks.length - 1]!;
    const y = linear(0, yMax, bottom, top);
    body.push(`<rect x="${LEFT}" y="${top}" width="${RIGHT - LEFT}" height="${LANE_H}" fill="#fafafa" stroke="#ddd"/>`);
    body.push(text(LEFT - 60, top + LANE_H / 2, f.name, 'text-anchor="end" font-weight="bold"'));
    for (const t of yTicks) {
      body.push(line(LEFT, y(t), RIGHT, y(t), 'stroke="#eee"'));
      body.push(text(LEFT - 8, y(t) + 4, `${fmtTick(t)} ms`, 'text-anchor="end" fill="#666"'));
    }
    const lag = f.events.filter((e) => e.type === "lag" && Number.isFinite(num(e, "maxMs")));
    for (const seg of segments(lag)) body.push(polyline(seg.map((e) => [xs(e.t), y(num(e, "maxMs"))]), 'stroke="#888" stroke-width="1"'));
    const delivery = f.events.filter((e) => e.type === "delivery" && Number.isFinite(num(e, "maxMs")));
    for (const seg of segments(delivery)) body.push(polyline(seg.map((e) => [xs(e.t), y(num(e, "maxMs"))]), 'stroke="#9467bd" stroke-width="1.5"'));
    // Commits can be thousands a second: one dot per pixel column, the slowest batch of that column.
    const commitCols = new Map<number, { ms: number; writes: number }>();
    for (const e of f.events) {
      const ms = num(e, "ms");
      if (!Number.isFinite(ms)) continue;
      if (e.type === "gc") {
        const w = Math.max(1, xs(e.t + ms) - xs(e.t));
        body.push(`<rect x="${xs(e.t).toFixed(1)}" y="${y(ms).toFixed(1)}" width="${w.toFixed(1)}" height="${(bottom - y(ms)).toFixed(1)}" fill="#d62728" opacity="0.8"><title>${esc(`${String(e.kind)} ${ms} ms`)}</title></rect>`);
      } else if (e.type === "commit") {
        const col = Math.round(xs(e.t));
        const c = commitCols.get(col);
        if (!c || ms > c.ms) commitCols.set(col, { ms, writes: num(e, "writes") });
      }
    }
    for (const [col, c] of commitCols) {
      body.push(`<circle cx="${col}" cy="${y(c.ms).toFixed(1)}" r="1.8" fill="#1f77b4"><title>${esc(`commit: ${c.writes} writes, ${c.ms} ms`)}</title></circle>`);
    }
  });
  const axisY = TOP + files.length * (LANE_H + GAP) - GAP + 14;
  for (const t of ticks) body.push(text(x(t), axisY, `${fmtTick(t)} s`, 'text-anchor="middle"'));
  body.push(
    text(LEFT, H - 10, "grey: event-loop lag (max per 100 ms)   red: GC pause   blue: LMDB commit batch (oldest write's wait)   purple: delivery latency seen by the tool (max per 100 ms)", 'fill="#555"'),
  );
  return svgDoc(W, H, body);
}
