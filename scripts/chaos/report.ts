/** The tables `npm run chaos` prints (Markdown, so a run can be pasted into docs/RELIABILITY.md). */
import { type checkerCounts, quantile, type SteadyTraffic } from "../../test/support/steady.js";

export interface FaultRow {
  fault: string;
  target: string;
  holdMs: number;
  /** From undoing the fault until every sender had an acknowledgement again; null: not within 30 s. */
  recoveryMs: number | null;
  /** Injected at / undone at (epoch ms): the window whose sends the row's latencies describe. */
  from: number;
  to: number;
}

const ms = (x: number) => (Number.isNaN(x) ? "-" : x.toFixed(0));

/**
 * One row per fault with the latency of the sends started while it held, from the first attempt
 * to the OK (retries included) and to the recipient's receipt, and a last row for the sends
 * started outside every fault.
 */
export function faultTable(rows: FaultRow[], startedAt: number, steady: SteadyTraffic): string {
  const out = [
    "| # | at s | fault | target | held ms | recovery ms | sends | ack p50 ms | ack p99 ms | delivery p50 ms | delivery p99 ms |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const lat = (w: number[], d: number[]) => `${w.length} | ${ms(quantile(w, 0.5))} | ${ms(quantile(w, 0.99))} | ${ms(quantile(d, 0.5))} | ${ms(quantile(d, 0.99))}`;
  for (const [i, r] of rows.entries()) {
    const rec = r.recoveryMs === null ? "> 30000" : String(r.recoveryMs);
    out.push(`| ${i + 1} | ${((r.from - startedAt) / 1000).toFixed(1)} | ${r.fault} | ${r.target} | ${r.holdMs} | ${rec} | ${lat(steady.window(r.from, r.to), steady.deliveryWindow(r.from, r.to))} |`);
  }
  // Outside every fault: the windows between them (and before the first, after the last).
  const bounds = [startedAt, ...rows.flatMap((r) => [r.from, r.to]), Date.now()];
  const calm: number[] = [];
  const calmDelivery: number[] = [];
  for (let i = 0; i < bounds.length; i += 2) {
    calm.push(...steady.window(bounds[i]!, bounds[i + 1]!));
    calmDelivery.push(...steady.deliveryWindow(bounds[i]!, bounds[i + 1]!));
  }
  out.push(`| | | no fault | | | | ${lat(calm, calmDelivery)} |`);
  return out.join("\n");
}

export function countsTable(sent: number, c: ReturnType<typeof checkerCounts>): string {
  return [
    "| sent | acknowledged | delivered | lost | stored twice | duplicates on one connection | out of order |",
    "|---|---|---|---|---|---|---|",
    `| ${sent} | ${c.acknowledged} | ${c.delivered} | ${c.lost} | ${c.storedTwice} | ${c.duplicatesOnOneConnection} | ${c.outOfOrder} |`,
  ].join("\n");
}
