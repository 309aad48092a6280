type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/**
 * Tiny element builder. Text goes through text nodes (never innerHTML), so process names and
 * reasons from the cluster cannot inject markup.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : String(c));
  }
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el as T;
}

/** Replace an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/**
 * Keyed children: each item keeps its element across redraws (an <audio> keeps playing, a focused
 * button keeps focus), new ones are created, gone ones removed, and the order made to match.
 */
export function reconcile<T>(parent: Element, items: readonly T[], key: (t: T) => string, cache: Map<string, HTMLElement>, create: (t: T) => HTMLElement, update: (el: HTMLElement, t: T) => void): void {
  const keep = new Set<string>();
  let at: ChildNode | null = parent.firstChild;
  for (const item of items) {
    const k = key(item);
    keep.add(k);
    let el = cache.get(k);
    if (!el) {
      el = create(item);
      cache.set(k, el);
    }
    update(el, item);
    if (el !== at) parent.insertBefore(el, at);
    else at = at.nextSibling;
  }
  for (const [k, el] of cache) {
    if (!keep.has(k)) {
      el.remove();
      cache.delete(k);
    }
  }
}

/** A screen-reader-only text node. */
export function srOnly(text: string): HTMLSpanElement {
  return h("span", { class: "sr-only" }, text);
}

export function clockTime(ts: number): string {
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** "14:05" today, "Mon 14:05" this week, else the date. */
export function shortTime(ts: number): string {
  if (!ts) return "";
  const d = new Date(ts);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return clockTime(ts);
  if (now.getTime() - ts < 6 * 86_400_000) return d.toLocaleDateString([], { weekday: "short" });
  return d.toLocaleDateString([], { day: "numeric", month: "short" });
}
