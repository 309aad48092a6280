import type { App } from "../app.js";
import { VOICE_NOTE_PREFIX } from "../body.js";
import { h } from "../dom.js";
import type { Conv } from "../model.js";
import { icon } from "./icons.js";
import { canRecord, extensionOf, type Recording, startRecording } from "../recorder.js";

/**
 * The message box: Enter sends, Shift+Enter is a new line; a file button (images show as
 * thumbnails for everyone) and a voice-note button (press to record, press again to send,
 * Escape or Cancel to drop). Sending while offline queues the message; it goes out on reconnect.
 */
export class Composer {
  readonly el: HTMLFormElement;
  private readonly input: HTMLTextAreaElement;
  private readonly fileInput: HTMLInputElement;
  private readonly micBtn: HTMLButtonElement;
  private readonly cancelBtn: HTMLButtonElement;
  private readonly status: HTMLElement;
  private recording: Recording | null = null;
  private tick = 0;
  private conv: Conv | null = null;

  constructor(private readonly app: App) {
    this.input = h("textarea", { id: "composer-input", rows: 1, placeholder: "Message", "aria-label": "Message", "data-testid": "composer", maxlength: 32768 });
    this.fileInput = h("input", { type: "file", id: "file-input", class: "sr-only", "data-testid": "file-input", tabindex: "-1" });
    this.micBtn = h("button", { type: "button", class: "btn btn-icon", "aria-label": "Record a voice note", "data-testid": "record", "aria-pressed": "false" }, icon("mic"));
    this.cancelBtn = h("button", { type: "button", class: "btn btn-ghost", hidden: true, "data-testid": "record-cancel" }, "Cancel");
    this.status = h("div", { class: "composer-status", role: "status", "data-testid": "composer-status" });
    const attach = h("button", { type: "button", class: "btn btn-icon", "aria-label": "Attach a file or photo", "data-testid": "attach", onclick: () => this.fileInput.click() }, icon("attach"));
    this.el = h(
      "form",
      { class: "composer", "aria-label": "Write a message" },
      this.status,
      h("div", { class: "composer-row" }, attach, this.fileInput, this.micBtn, this.cancelBtn, this.input, h("button", { type: "submit", class: "btn", "data-testid": "send" }, "Send")),
    );
    if (!canRecord()) this.micBtn.hidden = true;
    this.el.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => {
      this.grow();
      if (this.input.value.trim() !== "") this.app.typing();
    });
    this.fileInput.addEventListener("change", () => {
      const f = this.fileInput.files?.[0];
      this.fileInput.value = "";
      if (f) void this.upload(f, f.name, `Sending ${f.name}…`);
    });
    this.micBtn.addEventListener("click", () => void this.toggleRecording());
    this.cancelBtn.addEventListener("click", () => this.stopRecording(false));
    this.el.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.recording) this.stopRecording(false);
    });
  }

  setConv(c: Conv): void {
    if (this.conv !== c) {
      this.conv = c;
      this.say("");
      if (this.recording) this.stopRecording(false);
    }
    this.input.placeholder = c.kind === "topic" ? `Message # ${c.target}` : `Message ${c.target}`;
  }

  focus(): void {
    // Not on phones: the keyboard would cover the conversation just opened.
    if (window.matchMedia("(min-width: 721px)").matches) this.input.focus();
  }

  private say(text: string, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle("error", error);
  }

  private grow(): void {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (text === "") return;
    if (this.app.conn.state === "ended") {
      this.say("You are signed out: sign in again to send.", true);
      return;
    }
    const err = this.app.send(text);
    if (err) {
      this.say(err, true);
      return;
    }
    this.say(this.app.conn.state === "online" ? "" : "Offline: the message will be sent when the connection is back.");
    this.input.value = "";
    this.grow();
  }

  private async upload(blob: Blob, name: string, doing: string): Promise<void> {
    this.say(doing);
    try {
      await this.app.sendFile(blob, name);
      this.say("");
    } catch (err) {
      this.say(`Not sent: ${(err as Error).message}`, true);
    }
  }

  private async toggleRecording(): Promise<void> {
    if (this.recording) {
      this.stopRecording(true);
      return;
    }
    try {
      this.recording = await startRecording();
    } catch (err) {
      this.say(`Cannot record: ${(err as Error).message}`, true);
      return;
    }
    this.micBtn.setAttribute("aria-pressed", "true");
    this.micBtn.setAttribute("aria-label", "Stop and send the voice note");
    this.micBtn.classList.add("recording");
    this.micBtn.replaceChildren(icon("stop"));
    this.cancelBtn.hidden = false;
    const started = this.recording.startedAt;
    const show = () => {
      const s = Math.floor((Date.now() - started) / 1000);
      this.say(`Recording ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}. Press stop to send, Escape to cancel.`);
    };
    show();
    this.tick = window.setInterval(show, 500);
    const rec = this.recording;
    const note = await rec.done.catch(() => null);
    if (this.recording === rec) this.reset();
    if (note) void this.upload(note.blob, `${VOICE_NOTE_PREFIX}${new Date().toISOString().replace(/[:.]/g, "-")}.${extensionOf(note.blob.type)}`, "Sending the voice note…");
  }

  private stopRecording(send: boolean): void {
    const rec = this.recording;
    if (!rec) return;
    if (send) rec.stop();
    else {
      rec.cancel();
      this.say("Voice note discarded.");
    }
    this.reset();
  }

  private reset(): void {
    this.recording = null;
    window.clearInterval(this.tick);
    this.micBtn.setAttribute("aria-pressed", "false");
    this.micBtn.setAttribute("aria-label", "Record a voice note");
    this.micBtn.classList.remove("recording");
    this.micBtn.replaceChildren(icon("mic"));
    this.cancelBtn.hidden = true;
  }
}
