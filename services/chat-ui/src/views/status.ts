import type { ConnView } from "../app.js";
import { fill, h } from "../dom.js";

/**
 * The connection, said twice: a pill in the top bar, and a banner that cannot be missed while
 * the page is offline (role="alert": read out once when it appears). Queued messages go out
 * when it clears.
 */
export class ConnStatus {
  private timer = 0;
  private wasOnline = false;

  constructor(
    private readonly pill: HTMLElement,
    private readonly banner: HTMLElement,
    private readonly actions: { retry(): void; signInAgain(): void },
  ) {}

  show(c: ConnView): void {
    window.clearInterval(this.timer);
    this.pill.dataset.state = c.state;
    this.pill.className = `pill pill-${c.state}`;
    this.pill.textContent = { connecting: "Connecting…", online: "Online", offline: "Offline", ended: "Signed out" }[c.state];
    document.body.dataset.conn = c.state;
    this.pill.dataset.endpoint = c.url;
    this.pill.title = c.url ? `Connected to ${c.url}` : "";
    if (c.state === "online") {
      this.wasOnline = true;
      this.banner.hidden = true;
      this.banner.replaceChildren();
      return;
    }
    if (c.state === "connecting") {
      // The first connection is not news; a reconnect after a drop is.
      if (!this.wasOnline) return;
      this.render("Connection lost. Reconnecting…", null);
      return;
    }
    if (c.state === "ended") {
      this.render(`You are signed out: ${c.reason || "the session ended"}.`, h("button", { type: "button", class: "btn btn-light", onclick: () => this.actions.signInAgain() }, "Sign in again"));
      return;
    }
    const tickText = () => {
      const s = Math.max(0, Math.ceil((c.retryAt - Date.now()) / 1000));
      return `You are offline. Messages you write are kept and sent when the connection is back. Retrying${s > 0 ? ` in ${s} s` : "…"}`;
    };
    const retry = h("button", { type: "button", class: "btn btn-light", onclick: () => this.actions.retry() }, "Retry now");
    this.render(tickText(), retry);
    // The countdown updates the text node only, so the alert is not read out again every second.
    const text = this.banner.querySelector(".banner-text")!;
    this.timer = window.setInterval(() => (text.textContent = tickText()), 1000);
  }

  private render(text: string, action: HTMLElement | null): void {
    this.banner.hidden = false;
    fill(this.banner, h("span", { class: "banner-text" }, text), action);
  }
}
