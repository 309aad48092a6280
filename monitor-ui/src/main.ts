import type { Overview, TickEvent } from "../../services/monitor/api-types.js";
import { AuthRequired, fetchHistory, setToken, token } from "./api.js";
import { byId, h } from "./dom.js";
import { clock } from "./format.js";
import { SeriesStore } from "./series-store.js";
import { readEvents } from "./stream.js";
import { renderAuth } from "./views/auth.js";
import { renderBanners, type StreamProblem } from "./views/banners.js";
import { PALETTE } from "./views/chart.js";
import { ClusterCharts } from "./views/cluster-charts.js";
import { renderComponents } from "./views/components.js";
import { renderProcesses } from "./views/processes.js";
import { ServerCards } from "./views/servers.js";
import { renderTotals } from "./views/totals.js";

const WINDOWS = [
  { label: "5 min", ms: 5 * 60_000 },
  { label: "15 min", ms: 15 * 60_000 },
  { label: "1 h", ms: 60 * 60_000 },
] as const;
const WINDOW_KEY = "fishchat-monitor-window";
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The dashboard: one event stream in, the whole page re-rendered from each tick. */
class Dashboard {
  private overview: Overview | null = null;
  private readonly store = new SeriesStore(60 * 60_000);
  private windowMs: number = Number(localStorage.getItem(WINDOW_KEY)) || WINDOWS[1].ms;
  private problem: StreamProblem | null = null;
  private readonly colors = new Map<string, string>();
  private readonly clusterCharts = new ClusterCharts(byId("cluster-charts"));
  private readonly servers = new ServerCards(byId("servers"));
  private readonly pill = byId("stream-state");

  constructor() {
    this.renderRange();
  }

  async run(): Promise<void> {
    token(); // picks a #token=... out of the address before the first request
    let retryMs = RETRY_MIN_MS;
    for (;;) {
      const ctrl = new AbortController();
      let watchdog: ReturnType<typeof setTimeout> | undefined;
      // Ticks come every sampleMs; a long silence means a dead connection the browser has not noticed.
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => ctrl.abort(new Error("no update from the monitor for too long")), Math.max(10_000, 5 * (this.overview?.sampleMs ?? 1000)));
      };
      try {
        arm();
        for await (const ev of readEvents(ctrl.signal)) {
          arm();
          if (ev.event === "overview") {
            // (Re)connected: reload the history so a gap while offline fills in.
            const o = ev.data as Overview;
            this.store.load(await fetchHistory(o.now - o.historyMs, ctrl.signal), o.historyMs);
            this.problem = null;
            document.body.classList.remove("stale");
            retryMs = RETRY_MIN_MS;
            this.setPill("up", "Live");
            this.render(o);
          } else if (ev.event === "tick") {
            const t = ev.data as TickEvent;
            this.store.append(t.point);
            this.render(t.overview);
          }
        }
        throw new Error("the event stream ended");
      } catch (err) {
        if (err instanceof AuthRequired) {
          this.setPill("down", "Locked");
          renderAuth(document.querySelector("main")!, token() !== null, (t) => {
            setToken(t);
            location.reload();
          });
          return;
        }
        const reason = ctrl.signal.aborted && ctrl.signal.reason instanceof Error ? ctrl.signal.reason : (err as Error);
        await this.offline(reason.message || String(reason), retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      } finally {
        clearTimeout(watchdog);
        ctrl.abort();
      }
    }
  }

  /** Show the stream as lost and count down to the next attempt. */
  private async offline(message: string, retryMs: number): Promise<void> {
    this.setPill("down", "Offline");
    document.body.classList.add("stale");
    const until = Date.now() + retryMs;
    const text = message.replace(/\.$/, "");
    while (Date.now() < until) {
      this.problem = { message: text, retryInMs: until - Date.now() };
      renderBanners(byId("banners"), this.overview, this.problem);
      await sleep(Math.min(1000, until - Date.now()));
    }
    this.problem = { message: text, retryInMs: null };
    renderBanners(byId("banners"), this.overview, this.problem);
    this.setPill("wait", "Reconnecting…");
  }

  private setPill(kind: "up" | "down" | "wait", text: string): void {
    this.pill.className = `pill pill-${kind}`;
    this.pill.textContent = text;
  }

  private colorOf = (id: string): string => {
    let c = this.colors.get(id);
    if (!c) {
      c = PALETTE[this.colors.size % PALETTE.length]!;
      this.colors.set(id, c);
    }
    return c;
  };

  private render(o: Overview): void {
    this.overview = o;
    // Colours follow the sorted server list so they are the same on every reload.
    for (const p of o.processes) if (p.role === "msg_server") this.colorOf(p.id);
    const since = o.now - this.windowMs;
    renderBanners(byId("banners"), o, this.problem);
    renderTotals(byId("totals"), o);
    renderComponents(byId("components"), o);
    renderProcesses(byId("processes"), byId("process-summary"), o);
    this.clusterCharts.update(o, this.store, since, this.colorOf);
    this.servers.update(o, this.store, since, this.colorOf);
    byId("updated").textContent = `Updated ${clock(o.now)}`;
    byId("foot-info").textContent = `Monitor ${o.monitorId} · sample every ${o.sampleMs / 1000} s · history ${Math.round(o.historyMs / 60_000)} min`;
  }

  private renderRange(): void {
    const el = byId("range");
    el.replaceChildren(
      ...WINDOWS.map((w) =>
        h(
          "button",
          {
            type: "button",
            "aria-pressed": String(w.ms === this.windowMs),
            onclick: () => {
              this.windowMs = w.ms;
              localStorage.setItem(WINDOW_KEY, String(w.ms));
              this.renderRange();
              if (this.overview) this.render(this.overview);
            },
          },
          w.label,
        ),
      ),
    );
  }
}

// A #token=... pasted into the address of an open page (same-document navigation, no reload).
window.addEventListener("hashchange", () => {
  if (!/(?:^#|&)token=/.test(location.hash)) return;
  token();
  location.reload();
});

void new Dashboard().run();
