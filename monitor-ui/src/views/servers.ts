import type { Overview, ProcessView } from "../../../services/monitor/api-types.js";
import { fill, h } from "../dom.js";
import { ago, bytes, clock, duration, int, ms, rate } from "../format.js";
import { SeriesStore } from "../series-store.js";
import { BYTE_STEPS, PALETTE, TimeChart, WHOLE_STEPS } from "./chart.js";
import { statusPill } from "./processes.js";

/** One msg_server: its state in a line, and its sessions, message rates and backlog over time. */
class ServerCard {
  readonly el: HTMLElement;
  private readonly head: HTMLElement;
  private readonly sessions: TimeChart;
  private readonly rates: TimeChart;
  private readonly backlog: TimeChart;

  constructor(readonly id: string, color: string) {
    this.sessions = new TimeChart({ title: "Online sessions", lines: [{ label: "sessions", color, fill: true }], format: (v) => int(v), height: 150, minTop: 5, steps: WHOLE_STEPS });
    this.rates = new TimeChart({
      title: "Messages per second",
      lines: [
        { label: "in", color: PALETTE[0]! },
        { label: "out", color: PALETTE[1]! },
        { label: "routed out", color: PALETTE[2]!, dash: true },
        { label: "routed in", color: PALETTE[3]!, dash: true },
      ],
      format: (v) => rate(v),
      height: 150,
      minTop: 5,
    });
    this.backlog = new TimeChart({ title: "Send backlog (bytes queued for clients)", lines: [{ label: "backlog", color: PALETTE[4]!, fill: true }], format: (v) => bytes(v), height: 150, minTop: 1024, steps: BYTE_STEPS });
    this.head = h("div", { class: "server-head" });
    this.el = h(
      "article",
      { class: "card server", "data-server": id },
      h("div", { class: "card-head" }, this.head),
      h("div", { class: "grid3 server-body" }, this.sessions.el, this.rates.el, this.backlog.el),
    );
  }

  update(p: ProcessView, now: number, store: SeriesStore, sinceMs: number): void {
    this.el.className = `card server ${p.status}`;
    const s = p.stats;
    const r = p.rates;
    const live = p.status !== "down";
    const clients = s.clientConnections ?? s.connections ?? 0;
    const links = s.clientConnections === undefined ? 0 : Math.max(0, (s.connections ?? 0) - s.clientConnections);
    fill(
      this.head,
      h("h3", { class: "mono" }, p.id),
      statusPill(p.status),
      live
        ? h(
            "div",
            { class: "facts" },
            h("span", {}, "up ", h("b", {}, duration(p.uptimeMs))),
            h("span", {}, h("b", {}, int(clients)), clients === 1 ? " client connection" : " client connections"),
            links > 0 ? h("span", {}, h("b", {}, int(links)), links === 1 ? " internal link" : " internal links") : null,
            h("span", {}, h("b", {}, int(s.topics ?? 0)), s.topics === 1 ? " topic" : " topics"),
            h("span", {}, "loop lag ", h("b", {}, ms(s.eventLoopLagMs))),
            h("span", {}, "RSS ", h("b", {}, bytes(s.rssBytes))),
            h("span", {}, h("b", {}, rate((r.errors ?? 0) + (r.protocolErrors ?? 0))), " errors/s"),
            h("span", {}, "beat ", h("b", {}, ago(now, p.lastBeatAt))),
          )
        : // Figures from before the crash would read as current: show only what is known now.
          h("div", { class: "facts" }, h("span", {}, "last heartbeat ", h("b", {}, ago(now, p.lastHeartbeat))), h("span", {}, p.reason)),
    );
    const scope = store.servers.get(p.id);
    const [t, sessions, msgsIn, msgsOut, routedOut, routedIn, outbound] = SeriesStore.window(
      scope,
      ["sessions", "msgsInPerSec", "msgsOutPerSec", "routedOutPerSec", "routedInPerSec", "outboundBytes"],
      sinceMs,
    );
    const empty = p.status === "down" ? `Down${p.lastHeartbeat ? ` since ${clock(p.lastHeartbeat)}` : ""}: no data` : null;
    this.sessions.update([t, sessions!], live ? int(s.sessions ?? 0) : "–", empty);
    this.rates.update([t, msgsIn!, msgsOut!, routedOut!, routedIn!], live ? `${rate((r.msgsIn ?? 0) + (r.topicMsgsIn ?? 0))} in · ${rate((r.msgsOut ?? 0) + (r.topicDeliveries ?? 0))} out` : "–", empty);
    this.backlog.update([t, outbound!], live ? bytes(s.outboundBytes ?? 0) : "–", empty);
  }

  destroy(): void {
    for (const c of [this.sessions, this.rates, this.backlog]) c.destroy();
    this.el.remove();
  }
}

/** A card per msg_server, kept across ticks so charts are updated in place, not rebuilt. */
export class ServerCards {
  private readonly cards = new Map<string, ServerCard>();

  constructor(private readonly el: HTMLElement) {}

  update(o: Overview, store: SeriesStore, sinceMs: number, colorOf: (id: string) => string): void {
    const servers = o.processes.filter((p) => p.role === "msg_server");
    if (servers.length === 0) {
      for (const c of this.cards.values()) c.destroy();
      this.cards.clear();
      fill(this.el, h("div", { class: "card empty" }, h("strong", {}, "No msg_server known yet"), "msg_servers appear once they register in Redis or are listed in monitor.json msgServerList."));
      return;
    }
    this.el.querySelector(":scope > .empty")?.remove();
    const ids = new Set(servers.map((p) => p.id));
    for (const [id, c] of this.cards) {
      if (ids.has(id)) continue;
      c.destroy();
      this.cards.delete(id);
    }
    servers.forEach((p, i) => {
      let card = this.cards.get(p.id);
      if (!card) {
        card = new ServerCard(p.id, colorOf(p.id));
        this.cards.set(p.id, card);
      }
      // Keep the overview's order without moving nodes that are already in place.
      if (this.el.children[i] !== card.el) this.el.insertBefore(card.el, this.el.children[i] ?? null);
      card.update(p, o.now, store, sinceMs);
    });
  }
}
