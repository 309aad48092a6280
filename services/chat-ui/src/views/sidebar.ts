import type { App } from "../app.js";
import { preview } from "../body.js";
import { h, reconcile, shortTime, srOnly } from "../dom.js";
import type { Conv } from "../model.js";

/** The conversation list: newest first, unread badges, presence dots for people. */
export class Sidebar {
  private readonly items = new Map<string, HTMLElement>();

  constructor(
    private readonly app: App,
    private readonly list: HTMLUListElement,
    private readonly empty: HTMLElement,
    private readonly onOpen: (key: string) => void,
  ) {}

  render(): void {
    const m = this.app.model;
    const convs = m.sorted();
    this.empty.hidden = convs.length > 0;
    reconcile(this.list, convs, (c) => c.key, this.items, (c) => this.create(c), (el, c) => this.update(el, c));
    const total = m.totalUnread();
    document.title = total > 0 ? `(${total}) FishChat` : "FishChat";
  }

  private create(c: Conv): HTMLElement {
    const btn = h("button", { type: "button", class: "conv-item", "data-conv": c.key, "data-testid": "conv", onclick: () => this.onOpen(c.key) });
    return h("li", {}, btn);
  }

  private update(li: HTMLElement, c: Conv): void {
    const m = this.app.model;
    const btn = li.firstElementChild as HTMLButtonElement;
    const unread = m.unread(c);
    const open = m.openKey === c.key;
    if (open) btn.setAttribute("aria-current", "true");
    else btn.removeAttribute("aria-current");
    btn.dataset.unread = String(unread);
    const online = c.kind === "p2p" && m.online.has(c.target);
    const last = c.last ? `${c.last.from === m.me ? "You: " : c.kind === "topic" ? `${c.last.from}: ` : ""}${preview(c.last.body)}` : c.kind === "topic" ? "No messages yet" : "";
    const typing = this.app.typingNow(c);
    btn.replaceChildren(
      avatar(c, online),
      h(
        "span",
        { class: "conv-main" },
        h("span", { class: "conv-top" }, h("span", { class: "conv-name" }, c.target), h("span", { class: "conv-time" }, shortTime(c.last?.ts ?? 0))),
        h(
          "span",
          { class: "conv-bottom" },
          h("span", { class: typing.length > 0 ? "conv-preview typing" : "conv-preview" }, typing.length > 0 ? `${typing.join(", ")} typing…` : last),
          unread > 0 ? h("span", { class: "badge", "data-testid": "unread", "aria-label": `${unread} unread` }, unread > 99 ? "99+" : String(unread)) : null,
        ),
      ),
    );
  }
}

/** A round initial for people (with a presence dot), "#" for rooms. */
export function avatar(c: Pick<Conv, "kind" | "target">, online: boolean): HTMLElement {
  const initial = c.kind === "topic" ? "#" : (c.target.codePointAt(0) ? String.fromCodePoint(c.target.codePointAt(0)!) : "?").toUpperCase();
  return h(
    "span",
    { class: `avatar avatar-${hue(c.target)}`, "aria-hidden": c.kind === "topic" ? "true" : null },
    h("span", { "aria-hidden": "true" }, initial),
    c.kind === "p2p" ? presenceDot(online) : null,
  );
}

export function presenceDot(online: boolean): HTMLElement {
  return h("span", { class: online ? "dot dot-on" : "dot", "data-testid": "presence", "data-online": String(online) }, srOnly(online ? "online" : "offline"));
}

/** One of eight colours, the same for an id everywhere. */
function hue(s: string): number {
  let x = 0;
  for (let i = 0; i < s.length; i++) x = (x * 31 + s.charCodeAt(i)) | 0;
  return Math.abs(x) % 8;
}
