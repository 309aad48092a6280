import type { Overview, ProcessStatus, ProcessView } from "../../../services/monitor/api-types.js";
import { fill, h } from "../dom.js";
import { ago, duration, int } from "../format.js";

const LABEL: Record<ProcessStatus, string> = { up: "up", down: "down", "no-contact": "no contact" };

export function statusPill(s: ProcessStatus): HTMLElement {
  return h("span", { class: `pill pill-${s}`, "data-status-label": s }, LABEL[s]);
}

/** The few numbers that say most about each kind of process. */
function keyStats(p: ProcessView): string {
  const s = p.stats;
  switch (p.role) {
    case "msg_server":
      return `${int(s.sessions ?? 0)} sessions · ${int(s.connections ?? 0)} conns`;
    case "gateway":
      return `${int(s.handedOut ?? 0)} handed out · ${int(s.liveMsgServers ?? 0)} servers`;
    case "router":
      return `${int(s.linksUp ?? 0)}/${int(s.links ?? 0)} links · ${int(s.p2pForwarded ?? 0)} fwd`;
    case "manager":
      return `${int(s.linksUp ?? 0)}/${int(s.links ?? 0)} links · ${int(s.errors ?? 0)} errors`;
    case "monitor":
      return `${int(s.linksUp ?? 0)}/${int(s.links ?? 0)} links`;
  }
}

function row(p: ProcessView, now: number): HTMLElement {
  return h(
    "tr",
    { "data-key": p.key, "data-status": p.status, title: p.reason },
    h("td", {}, statusPill(p.status)),
    h("td", { class: "role" }, p.role),
    h("td", { class: "mono" }, p.id),
    h("td", { class: "mono" }, p.addr),
    h("td", { class: "num" }, p.pid ?? "–"),
    h("td", { class: "num" }, p.status === "down" ? "–" : duration(p.uptimeMs)),
    h("td", { class: "num" }, ago(now, p.lastHeartbeat)),
    h("td", {}, p.status === "down" ? "" : keyStats(p)),
    h("td", { class: "reason" }, p.status === "up" ? "" : p.reason),
  );
}

/** Every process of the cluster, one row each; the row's data-status is what tests read. */
export function renderProcesses(el: HTMLElement, summary: HTMLElement, o: Overview): void {
  const up = o.processes.filter((p) => p.status === "up").length;
  summary.textContent = o.processes.length ? `${up} of ${o.processes.length} up · version ${o.processes.find((p) => p.version)?.version ?? "?"}` : "";
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
  fill(el, h("table", { class: "ptable" }, h("thead", {}, head), h("tbody", {}, ...o.processes.map((p) => row(p, o.now)))));
}
