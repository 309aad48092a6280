import type { ComponentView, Overview } from "../../../services/monitor/api-types.js";
import { fill, h } from "../dom.js";
import { ago, duration, ms } from "../format.js";
import { statusPill } from "./processes.js";

const WORD = { up: "up", degraded: "degraded", down: "down", unknown: "unknown" } as const;

/** One card per component (Redis, the store), each with its own status: they fail apart from the processes. */
function card(c: ComponentView, now: number): HTMLElement {
  const facts: (HTMLElement | null)[] = [];
  // The reason carries the figures while all is well; when not, the last good ones help.
  if (c.status !== "up" && c.latencyMs !== null) facts.push(h("span", {}, c.key === "redis" ? "PING " : "slowest read ", h("b", {}, ms(c.latencyMs))));
  if (c.since !== null) facts.push(h("span", {}, `${WORD[c.status]} for `, h("b", {}, duration(now - c.since))));
  // The last failure stays visible after a recovery, so a blip between two looks is not lost.
  if (c.lastError && c.lastErrorAt !== null && c.status === "up") facts.push(h("span", { class: "last-error" }, `last problem ${ago(now, c.lastErrorAt)}: ${c.lastError}`));
  return h(
    "article",
    { class: `card component ${c.status}`, "data-testid": `component-${c.key}`, "data-status": c.status },
    h("div", { class: "component-head" }, h("h3", {}, c.name), statusPill(c.status), c.addr ? h("span", { class: "mono muted" }, c.addr) : null),
    h("p", { class: "component-reason", "data-testid": "reason" }, c.reason),
    facts.length ? h("div", { class: "facts" }, ...facts) : null,
    c.parts.length
      ? h(
          "ul",
          { class: "parts" },
          ...c.parts.map((p) =>
            h("li", { "data-key": p.key, "data-status": p.status, title: p.reason }, statusPill(p.status), h("span", { class: "mono" }, p.id), h("span", { class: "muted" }, p.reason)),
          ),
        )
      : null,
  );
}

export function renderComponents(el: HTMLElement, o: Overview): void {
  fill(el, ...o.components.map((c) => card(c, o.now)));
}
