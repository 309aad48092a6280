import type { ComponentStatus, Overview, ProcessStatus, ProcessView } from "../../../services/monitor/api-types.js";
import { fill, h } from "../dom.js";
import { count, duration, int, since } from "../format.js";

const LABEL: Record<ProcessStatus | ComponentStatus, string> = { up: "up", stale: "stale", down: "down", "no-contact": "no contact", degraded: "degraded", unknown: "unknown" };

export function statusPill(s: ProcessStatus | ComponentStatus): HTMLElement {
  return h("span", { class: `pill pill-${s}`, "data-status-label": s }, LABEL[s]);
}

/** The few numbers that say most about each kind of process. */
function keyStats(p: ProcessView): string {
  const s = p.stats;
  const links = `${int(s.linksUp ?? 0)}/${count(s.links ?? 0, "link")}`;
  switch (p.role) {
    case "msg_server":
      return `${count(s.sessions ?? 0, "session")} · ${count(s.clientConnections ?? s.connections ?? 0, "client connection")}`;
    case "gateway":
      return `${int(s.handedOut ?? 0)} handed out · ${count(s.liveMsgServers ?? 0, "live msg_server")}`;
    case "router":
      return `${links} up · ${int(s.p2pForwarded ?? 0)} forwarded`;
    case "manager":
      return `${links} up · ${count(s.errors ?? 0, "error")}`;
    case "monitor":
      return `${links} up`;
    case "api":
      return `${links} up · ${int(s.requests ?? 0)} requests · ${int(s.sent ?? 0)} sent`;
  }
}

function row(p: ProcessView): HTMLElement {
  return h(
    "tr",
    { "data-key": p.key, "data-status": p.status },
    h("td", {}, statusPill(p.status)),
    h("td", { class: "role" }, p.role),
    h("td", { class: "mono" }, p.id),
    // What a client can dial; the bind address as configured is in the tooltip.
    h("td", { class: "mono", title: p.displayAddr === p.addr ? null : `bound to ${p.addr}` }, p.displayAddr),
    h("td", { class: "num" }, p.pid ?? "–"),
    h("td", { class: "num" }, p.status === "down" ? "–" : duration(p.uptimeMs)),
    h("td", { class: "num" }, since(p.heartbeatAgeMs)),
    h("td", {}, p.status === "down" ? "" : keyStats(p)),
    h("td", { class: "reason", "data-testid": "reason" }, p.reason),
  );
}

/** Every process of the cluster, one row each; the row's data-status is what tests read. */
export function renderProcesses(el: HTMLElement, summary: HTMLElement, o: Overview): void {
  const up = o.processes.filter((p) => p.status === "up").length;
  const stale = o.processes.filter((p) => p.status === "stale").length;
  summary.textContent = o.processes.length
    ? `${up} of ${o.processes.length} up${stale ? ` · ${stale} stale` : ""} · version ${o.processes.find((p) => p.version)?.version ?? "?"}`
    : "";
  if (o.processes.length === 0) {
    fill(
      el,
      h(
        "div",
        { class: "empty", "data-testid": "no-processes" },
        h("strong", {}, "No FishChat process has registered yet"),
        "Processes appear here within a second of starting (they heartbeat into Redis). Start the cluster with npm start.",
      ),
    );
    return;
  }
  const head = h(
    "tr",
    {},
    ...["Status", "Role", "ID", "Address", "PID", "Uptime", "Last heartbeat", "Summary", "Details"].map((c, i) => h("th", { class: i >= 4 && i <= 6 ? "num" : null }, c)),
  );
  fill(el, h("table", { class: "ptable" }, h("thead", {}, head), h("tbody", {}, ...o.processes.map((p) => row(p)))));
}
