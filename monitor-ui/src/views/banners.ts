import type { Overview } from "../../../services/monitor/api-types.js";
import { fill, h } from "../dom.js";

export interface StreamProblem {
  message: string;
  retryInMs: number | null;
}

/** Error states that concern the whole page: lost stream, unreadable registry, silent servers. */
export function renderBanners(el: HTMLElement, o: Overview | null, stream: StreamProblem | null): void {
  const items: HTMLElement[] = [];
  if (stream) {
    const retry = stream.retryInMs !== null ? ` Retrying in ${Math.ceil(stream.retryInMs / 1000)} s.` : " Reconnecting…";
    items.push(h("div", { class: "banner banner-error", "data-testid": "banner-stream" }, `Lost contact with the monitor: ${stream.message}.${retry} The figures below are frozen.`));
  }
  if (o?.registryError) {
    items.push(
      h(
        "div",
        { class: "banner banner-error", "data-testid": "banner-registry" },
        h("strong", {}, "Redis cannot be read. "),
        `${o.registryError.replace(/\.$/, "")}. The processes below are shown as they were at the last registry read, marked stale; msg_servers still report over their own links.`,
      ),
    );
  }
  for (const p of o?.processes ?? []) {
    if (p.status === "no-contact") items.push(h("div", { class: "banner banner-warn" }, `The monitor lost contact with ${p.role} ${p.id}: ${p.reason}.`));
  }
  fill(el, ...items);
}
