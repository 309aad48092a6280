/**
 * Voice notes: the microphone through MediaRecorder as WebM/Opus (what Chromium and Firefox
 * record), stopped by the user or at MAX_MS. The stream's tracks are stopped with the recording,
 * so the browser's microphone indicator goes off.
 */

export const MAX_VOICE_NOTE_MS = 5 * 60_000;

const TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];

export function canRecord(): boolean {
  return typeof MediaRecorder !== "undefined" && !!navigator.mediaDevices?.getUserMedia;
}

export interface Recording {
  /** Resolves with the note (null when cancelled). */
  readonly done: Promise<{ blob: Blob; ms: number } | null>;
  readonly startedAt: number;
  stop(): void;
  cancel(): void;
}

export async function startRecording(): Promise<Recording> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const mimeType = TYPES.find((t) => MediaRecorder.isTypeSupported(t));
  const rec = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
  const chunks: Blob[] = [];
  let cancelled = false;
  const startedAt = Date.now();
  rec.addEventListener("dataavailable", (e) => {
    if (e.data.size > 0) chunks.push(e.data);
  });
  const done = new Promise<{ blob: Blob; ms: number } | null>((resolve, reject) => {
    rec.addEventListener("stop", () => {
      for (const t of stream.getTracks()) t.stop();
      window.clearTimeout(limit);
      resolve(cancelled || chunks.length === 0 ? null : { blob: new Blob(chunks, { type: rec.mimeType || "audio/webm" }), ms: Date.now() - startedAt });
    });
    rec.addEventListener("error", () => {
      for (const t of stream.getTracks()) t.stop();
      reject(new Error("recording failed"));
    });
  });
  const limit = window.setTimeout(() => rec.state !== "inactive" && rec.stop(), MAX_VOICE_NOTE_MS);
  rec.start(250);
  return {
    done,
    startedAt,
    stop: () => rec.state !== "inactive" && rec.stop(),
    cancel: () => {
      cancelled = true;
      if (rec.state !== "inactive") rec.stop();
    },
  };
}

/** The extension for a recorded type, for the uploaded file's name. */
export function extensionOf(mime: string): string {
  if (mime.startsWith("audio/ogg")) return "ogg";
  if (mime.startsWith("audio/mp4")) return "m4a";
  return "webm";
}
