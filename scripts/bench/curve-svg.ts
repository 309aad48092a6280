/**
 * The latency curve as an SVG chart (`bench curve --svg FILE`): left, p50 / p99 / p99.9 against
 * the offered load on a log latency axis (the tail spans decades); right, cluster CPU per
 * delivered message. One colour per target (this build, the --compare one), one dash per figure.
 */
import type { CurveStep } from "./curve-report.js";
import { PALETTE, decadeTicks, fmtTick, line, linear, log10Scale, niceTicks, polyline, svgDoc, text } from "./svg.js";

export interface CurveSeries {
  label: string;
  steps: readonly CurveStep[];
}

const W = 900;
const H = 410;
const PANEL = { top: 40, bottom: 320, leftA: 60, rightA: 520, leftB: 600, rightB: 880 };
const DASH: Record<"p50Ms" | "p99Ms" | "p999Ms", string> = { p50Ms: "", p99Ms: 'stroke-dasharray="6 3"', p999Ms: 'stroke-dasharray="2 3"' };

const finite = (v: number) => Number.isFinite(v) && v > 0;

export function curveSvg(series: readonly CurveSeries[], title: string): string {
  const loads = series.flatMap((s) => s.steps.map((x) => x.offered));
  const lat = series.flatMap((s) => s.steps.flatMap((x) => [x.p50Ms, x.p99Ms, x.p999Ms])).filter(finite);
  const cpu = series.flatMap((s) => s.steps.map((x) => x.cpuUsPerMsg)).filter(finite);
  const body: string[] = [text(W / 2, 20, title, 'text-anchor="middle" font-size="14"')];
  if (loads.length === 0) return svgDoc(W, H, [...body, text(W / 2, H / 2, "no data", 'text-anchor="middle"')]);
  const x0 = 0;
  const x1 = Math.max(...loads);
  const yLat = decadeTicks(Math.min(...lat, 1), Math.max(...lat, 1));
  const ax = linear(x0, x1, PANEL.leftA, PANEL.rightA);
  const ay = log10Scale(yLat[0]!, yLat[yLat.length - 1]!, PANEL.bottom, PANEL.top);
  const cpuTicks = niceTicks(0, Math.max(...cpu, 1) * 1.1);
  const bx = linear(x0, x1, PANEL.leftB, PANEL.rightB);
  const by = linear(0, cpuTicks[cpuTicks.length - 1]!, PANEL.bottom, PANEL.top);
  const xTicks = niceTicks(x0, x1, 5);
  // Axes and grid.
  for (const [sx, left, right] of [[ax, PANEL.leftA, PANEL.rightA], [bx, PANEL.leftB, PANEL.rightB]] as const) {
    for (const t of xTicks) {
      body.push(line(sx(t), PANEL.top, sx(t), PANEL.bottom, 'stroke="#eee"'));
      body.push(text(sx(t), PANEL.bottom + 14, fmtTick(t), 'text-anchor="middle"'));
    }
    body.push(line(left, PANEL.bottom, right, PANEL.bottom, 'stroke="#333"'));
    body.push(text((left + right) / 2, PANEL.bottom + 30, "offered load (msg/s)", 'text-anchor="middle"'));
  }
  for (const t of yLat) {
    body.push(line(PANEL.leftA, ay(t), PANEL.rightA, ay(t), 'stroke="#eee"'));
    body.push(text(PANEL.leftA - 6, ay(t) + 4, fmtTick(t), 'text-anchor="end"'));
  }
  for (const t of cpuTicks) {
    body.push(line(PANEL.leftB, by(t), PANEL.rightB, by(t), 'stroke="#eee"'));
    body.push(text(PANEL.leftB - 6, by(t) + 4, fmtTick(t), 'text-anchor="end"'));
  }
  body.push(text(PANEL.leftA, PANEL.top - 8, "latency, ms (log)"));
  body.push(text(PANEL.leftB, PANEL.top - 8, "cluster CPU per delivered message, µs"));
  // Data.
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    for (const f of ["p50Ms", "p99Ms", "p999Ms"] as const) {
      const pts = s.steps.filter((x) => finite(x[f])).map((x) => [ax(x.offered), ay(x[f])] as [number, number]);
      if (pts.length > 0) body.push(polyline(pts, `stroke="${colour}" stroke-width="2" ${DASH[f]}`));
      for (const [px, py] of pts) body.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="2.5" fill="${colour}"/>`);
    }
    const cpuPts = s.steps.filter((x) => finite(x.cpuUsPerMsg)).map((x) => [bx(x.offered), by(x.cpuUsPerMsg)] as [number, number]);
    if (cpuPts.length > 0) body.push(polyline(cpuPts, `stroke="${colour}" stroke-width="2"`));
    const ly = PANEL.bottom + 50 + i * 14;
    body.push(line(PANEL.leftA + 10, ly - 4, PANEL.leftA + 30, ly - 4, `stroke="${colour}" stroke-width="3"`));
    body.push(text(PANEL.leftA + 36, ly, s.label));
  });
  body.push(text(PANEL.leftB, PANEL.bottom + 50, "latency: solid p50, dashed p99, dotted p99.9", 'fill="#555"'));
  return svgDoc(W, H, body);
}
