import type { App } from "../app.js";
import type { FileRef } from "../body.js";
import { fill, h, reconcile } from "../dom.js";
import type { Conv } from "../model.js";
import { Composer } from "./composer.js";
import { createMessage, updateMessage } from "./message.js";
import { icon } from "./icons.js";
import { avatar } from "./sidebar.js";

export interface ThreadHooks {
  back(): void;
  members(c: Conv): void;
  openImage(f: FileRef): void;
}

/**
 * The open conversation: header (who, presence or members, room actions), the messages with
 * scroll-back, who is typing, and the composer. One instance; `show(conv)` switches what it shows.
 */
export class Thread {
  private conv: Conv | null = null;
  private readonly items = new Map<string, HTMLElement>();
  private readonly header = h("header", { class: "thread-head" });
  private readonly list = h("ol", { class: "msgs", "aria-label": "Messages", "data-testid": "messages" });
  private readonly older = h("button", { type: "button", class: "btn btn-ghost older", "data-testid": "load-older", onclick: () => void this.loadOlder() }, "Load older messages");
  private readonly scroller = h("div", { class: "scroller", tabindex: "0", "aria-label": "Message history" }, this.older, this.list);
  private readonly typing = h("div", { class: "typing-line", "aria-live": "polite", "data-testid": "typing" });
  private readonly composer: Composer;
  private loadingOlder = false;

  constructor(
    private readonly app: App,
    private readonly root: HTMLElement,
    private readonly hooks: ThreadHooks,
  ) {
    this.composer = new Composer(app);
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < 60) void this.loadOlder();
    });
    this.empty();
  }

  get current(): Conv | null {
    return this.conv;
  }

  private empty(): void {
    this.root.replaceChildren(
      h("div", { class: "thread-empty" }, h("p", {}, "Pick a conversation, or start one with someone's id."), h("p", { class: "muted" }, "Rooms are for groups: create one or join one with “Rooms”.")),
    );
  }

  show(c: Conv | null): void {
    if (c === this.conv) return;
    this.conv = c;
    this.items.clear();
    this.list.replaceChildren();
    if (!c) {
      this.empty();
      return;
    }
    this.root.replaceChildren(this.header, this.scroller, this.typing, this.composer.el);
    this.render(true);
    this.composer.focus();
  }

  /** Redraw for a change of the open conversation (messages, receipts, typing, members). */
  render(toBottom = false): void {
    const c = this.conv;
    if (!c) return;
    const nearBottom = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 80;
    const firstBefore = this.list.firstElementChild;
    const topBefore = firstBefore ? (firstBefore as HTMLElement).offsetTop : 0;
    this.renderHeader(c);
    reconcile(
      this.list,
      c.msgs,
      (m) => m.key,
      this.items,
      (m) => createMessage(this.app, c, m, (f) => this.hooks.openImage(f)),
      (el, m) => updateMessage(el, c, m, (msg) => this.app.retry(c, msg.key)),
    );
    this.older.hidden = !(Number.isFinite(c.oldest) && c.oldest > 1);
    const typing = this.app.typingNow(c);
    this.typing.textContent = typing.length === 0 ? "" : typing.length === 1 ? `${typing[0]} is typing…` : `${typing.join(", ")} are typing…`;
    this.composer.setConv(c);
    if (toBottom || nearBottom) this.scroller.scrollTop = this.scroller.scrollHeight;
    else if (firstBefore?.isConnected) {
      // Older messages went in above: keep what the reader was looking at where it was.
      this.scroller.scrollTop += (firstBefore as HTMLElement).offsetTop - topBefore;
    }
  }

  private renderHeader(c: Conv): void {
    const m = this.app.model;
    const online = c.kind === "p2p" && m.online.has(c.target);
    const sub =
      c.kind === "p2p"
        ? h("span", { class: "thread-sub", "data-testid": "peer-presence" }, this.app.conn.state !== "online" ? "" : online ? "online" : "offline")
        : h("span", { class: "thread-sub", "data-testid": "room-info" }, roomLine(c));
    fill(
      this.header,
      h("button", { type: "button", class: "btn btn-ghost back", "aria-label": "Back to conversations", onclick: () => this.hooks.back() }, icon("back", 24)),
      avatar(c, online),
      h("div", { class: "thread-title" }, h("h2", { id: "thread-name", "data-testid": "thread-name" }, c.kind === "topic" ? `# ${c.target}` : c.target), sub),
      c.kind === "topic"
        ? h(
            "div",
            { class: "thread-actions" },
            h("button", { type: "button", class: "btn btn-secondary", "aria-haspopup": "dialog", "data-testid": "members-open", onclick: () => this.hooks.members(c) }, "Members"),
          )
        : null,
    );
  }

  private async loadOlder(): Promise<void> {
    if (this.loadingOlder || this.older.hidden) return;
    this.loadingOlder = true;
    this.older.textContent = "Loading…";
    try {
      await this.app.loadOlder();
    } catch {
      // Offline: the button stays for another try.
    } finally {
      this.loadingOlder = false;
      this.older.textContent = "Load older messages";
    }
  }
}

/** "private room · 3 members" */
function roomLine(c: Conv): string {
  const n = c.members?.length ?? c.info?.memberCount;
  const kind = c.info?.policy === "private" ? "private room" : "room";
  return n === undefined ? kind : `${kind} · ${n} member${n === 1 ? "" : "s"}`;
}
