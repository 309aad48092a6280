import type { Overview } from "../../../services/monitor/api-types.js";
import { fill, h } from "../dom.js";
import { bytes, count, int, rate } from "../format.js";

function kpi(testid: string, label: string, value: string, unit = "", note = "", bad = false): HTMLElement {
  return h(
    "div",
    { class: `card kpi${bad ? " bad" : ""}`, "data-testid": testid },
    h("div", { class: "kpi-label" }, label),
    h("div", { class: "kpi-value" }, h("span", { "data-value": "" }, value), unit ? h("small", {}, unit) : null),
    note ? h("div", { class: "kpi-note" }, note) : null,
  );
}

/** Stale processes first (they explain a low "up"), then the error rate. */
function processNote(o: Overview): string {
  const stale = o.processes.filter((p) => p.status === "stale").length;
  const errors = o.totals.errorsPerSec > 0 ? `${rate(o.totals.errorsPerSec)} errors/s` : "no errors";
  return stale > 0 ? `${stale} stale · ${errors}` : errors;
}

/** The row of cluster totals at the top of the page. */
export function renderTotals(el: HTMLElement, o: Overview): void {
  const t = o.totals;
  fill(
    el,
    kpi("total-sessions", "Online sessions", int(t.sessions), "", count(t.connections, "client connection")),
    kpi("total-msgs-in", "Messages in", rate(t.msgsInPerSec), "/s", "from clients, p2p + topic"),
    kpi("total-msgs-out", "Messages out", rate(t.msgsOutPerSec), "/s", "delivered to clients"),
    kpi("total-routed", "Routed", rate(t.routedPerSec), "/s", "between msg_servers"),
    kpi("total-backlog", "Send backlog", bytes(t.outboundBytes), "", "queued for clients"),
    kpi("total-servers", "msg_servers up", `${t.msgServersUp}`, `/ ${t.msgServers}`, "", t.msgServersUp < t.msgServers),
    kpi("total-processes", "Processes up", `${t.processesUp}`, `/ ${t.processes}`, processNote(o), t.processesUp < t.processes),
  );
}
