import { processStats } from "../../shared/process-stats.js";
import { counters } from "../../shared/stats-schema.js";

/** The msg_server's counters (declared in shared/stats-schema.ts); gauges come from the core. */
export type MsgServerStats = ReturnType<typeof newMsgServerStats>;

export function newMsgServerStats() {
  return counters("msg_server");
}

/** Counters, the core's gauges and the process gauges, as STATS, the beat and the heartbeat report them. */
export function msgServerSnapshot(c: MsgServerStats, gauges: Record<string, number>): Record<string, number> {
  return { ...gauges, ...c, ...processStats().read() };
}
