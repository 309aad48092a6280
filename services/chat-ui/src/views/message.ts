import type { App } from "../app.js";
import { type FileRef, formatBytes, isAudio, isImage, parseBody } from "../body.js";
import { clockTime, h, srOnly } from "../dom.js";
import type { Conv, Msg } from "../model.js";
import { icon } from "./icons.js";

/**
 * One message: its body (text, or an attachment: thumbnail, audio player or file card) is made
 * once; the delivery state and the time are updated in place, so a playing <audio> is never
 * replaced.
 */

export type Delivery = "sending" | "sent" | "read" | "failed" | "received";

export function delivery(c: Conv, m: Msg): Delivery {
  if (m.state === "sent" && c.kind === "p2p" && m.seq > 0 && m.seq <= c.peerRead) return "read";
  return m.state;
}

const LABELS: Record<Delivery, string> = { sending: "Sending…", sent: "Sent", read: "Read", failed: "Not sent", received: "" };
const MARKS: Record<Delivery, string> = { sending: "◷", sent: "✓", read: "✓✓", failed: "!", received: "" };

export function createMessage(app: App, c: Conv, m: Msg, openImage: (f: FileRef) => void): HTMLElement {
  const mine = m.from === app.me;
  const b = parseBody(m.body);
  const content = "text" in b ? h("p", { class: "msg-text", "data-testid": "msg-text" }, b.text) : attachment(app, b.file, openImage);
  return h(
    "li",
    { class: mine ? "msg msg-mine" : "msg", "data-testid": "msg", "data-uuid": m.uuid ?? "", "data-from": m.from },
    h(
      "div",
      { class: "bubble" },
      c.kind === "topic" && !mine ? h("span", { class: "msg-from" }, m.from) : srOnly(mine ? "You:" : `${m.from}:`),
      content,
      h("span", { class: "msg-meta" }, h("time", { class: "msg-time" }), h("span", { class: "msg-state", "data-testid": "delivery" })),
    ),
  );
}

export function updateMessage(el: HTMLElement, c: Conv, m: Msg, onRetry: (m: Msg) => void): void {
  const d = delivery(c, m);
  el.dataset.uuid = m.uuid ?? "";
  el.dataset.seq = String(m.seq);
  const time = el.querySelector("time")!;
  time.dateTime = new Date(m.ts).toISOString();
  time.textContent = clockTime(m.ts);
  const state = el.querySelector<HTMLElement>(".msg-state")!;
  if (state.dataset.state === d && d !== "failed") return;
  state.dataset.state = d;
  el.classList.toggle("msg-failed", d === "failed");
  if (d === "received") {
    state.replaceChildren();
    return;
  }
  state.replaceChildren(h("span", { "aria-hidden": "true", class: `mark mark-${d}` }, MARKS[d]), srOnly(LABELS[d]));
  state.title = d === "failed" ? `Not sent: ${m.error ?? "error"}` : LABELS[d];
  if (d === "failed") {
    state.append(
      h("span", { class: "msg-error" }, ` ${m.error ?? ""} `),
      h("button", { type: "button", class: "link", onclick: () => onRetry(m) }, "Retry"),
    );
  }
}

function attachment(app: App, f: FileRef, openImage: (f: FileRef) => void): HTMLElement {
  const caption = f.caption ? h("p", { class: "msg-text" }, f.caption) : null;
  if (isImage(f)) {
    const img = h("img", { class: "thumb", alt: f.caption ? `Photo: ${f.caption}` : `Photo ${f.name}`, "data-testid": "thumbnail", width: 240, height: 180 });
    // The thumbnail when there is one (WebP, 320 px), else the image itself.
    app.files.url(f.thumbnailId ?? f.id).then(
      (u) => {
        img.src = u;
        img.removeAttribute("width");
        img.removeAttribute("height");
      },
      () => img.replaceWith(h("span", { class: "thumb-missing" }, "Image unavailable")),
    );
    return h(
      "div",
      { class: "att att-image" },
      h("button", { type: "button", class: "thumb-btn", "aria-label": `Open ${f.name}`, onclick: () => openImage(f) }, img),
      fileLine(app, f),
      caption,
    );
  }
  if (isAudio(f)) {
    const audio = h("audio", { controls: true, preload: "metadata", "data-testid": "voice-note", "aria-label": "Voice note" });
    knowDuration(audio);
    app.files.url(f.id).then(
      (u) => (audio.src = u),
      () => audio.replaceWith(h("span", { class: "muted" }, "Voice note unavailable")),
    );
    return h("div", { class: "att att-audio" }, h("span", { class: "att-label" }, "Voice note"), audio, caption);
  }
  return h("div", { class: "att att-file" }, h("span", { class: "file-icon" }, icon("file", 26)), fileLine(app, f), caption);
}

function fileLine(app: App, f: FileRef): HTMLElement {
  const status = h("span", { class: "att-status", role: "status" });
  const btn = h(
    "button",
    {
      type: "button",
      class: "link",
      "data-testid": "download",
      onclick: () => {
        status.textContent = "Downloading…";
        app.files.download(f.id, f.name).then(
          () => (status.textContent = ""),
          (err: Error) => (status.textContent = `Download failed: ${err.message}`),
        );
      },
    },
    "Download",
  );
  return h("span", { class: "att-line" }, h("span", { class: "att-name" }, f.name), h("span", { class: "muted" }, ` · ${formatBytes(f.size)} · `), btn, status);
}

/**
 * A recorded WebM has no duration in its header: Chromium shows 0:00 and no progress until it has
 * played through. Seeking far past the end makes it read the file and learn the duration; then
 * back to the start. `data-ready` is set once the player shows the real length.
 */
function knowDuration(audio: HTMLAudioElement): void {
  audio.addEventListener(
    "loadedmetadata",
    () => {
      if (Number.isFinite(audio.duration)) {
        audio.dataset.ready = "true";
        return;
      }
      const back = () => {
        if (!Number.isFinite(audio.duration)) return;
        audio.removeEventListener("durationchange", back);
        audio.currentTime = 0;
        audio.dataset.ready = "true";
      };
      audio.addEventListener("durationchange", back);
      audio.currentTime = 1e9;
    },
    { once: true },
  );
}
