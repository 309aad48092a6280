/**
 * Message bodies: plain text, or an attachment reference `fc+file:{json}` (docs/PROTOCOL.md, "A
 * message that refers to an attachment"). The server rewrites a reference with the stored name,
 * MIME type and size, so what arrives can be shown as it says.
 */

export const FILE_PREFIX = "fc+file:";

export interface FileRef {
  id: string;
  name: string;
  mime: string;
  size: number;
  thumbnailId: string | null;
  caption?: string;
}

/** Voice notes are recorded as `voice-note-<time>.webm`; the server detects WebM as video/webm whatever the tracks. */
export const VOICE_NOTE_PREFIX = "voice-note-";

export function parseBody(body: string): { text: string } | { file: FileRef } {
  if (!body.startsWith(FILE_PREFIX)) return { text: body };
  try {
    const o = JSON.parse(body.slice(FILE_PREFIX.length)) as Record<string, unknown>;
    if (typeof o.id !== "string") return { text: body };
    return {
      file: {
        id: o.id,
        name: typeof o.name === "string" ? o.name : "file",
        mime: typeof o.mime === "string" ? o.mime : "application/octet-stream",
        size: typeof o.size === "number" ? o.size : 0,
        thumbnailId: typeof o.thumbnailId === "string" ? o.thumbnailId : null,
        ...(typeof o.caption === "string" && o.caption !== "" ? { caption: o.caption } : {}),
      },
    };
  } catch {
    return { text: body };
  }
}

/** A reference to send: the id is what counts; `known` facts (from the upload) let the sender show it at once. */
export function fileBody(id: string, caption?: string, known?: Omit<FileRef, "id" | "caption">): string {
  const facts = known ? { name: known.name, mime: known.mime, size: known.size, thumbnailId: known.thumbnailId } : {};
  return FILE_PREFIX + JSON.stringify({ type: "file", id, ...facts, ...(caption ? { caption } : {}) });
}

export function isAudio(f: FileRef): boolean {
  return f.mime.startsWith("audio/") || (f.mime === "video/webm" && f.name.startsWith(VOICE_NOTE_PREFIX));
}

export function isImage(f: FileRef): boolean {
  return f.mime.startsWith("image/");
}

/** One line for the conversation list and notifications. */
export function preview(body: string): string {
  const b = parseBody(body);
  if ("text" in b) return b.text.replace(/\s+/g, " ").slice(0, 120);
  if (isAudio(b.file)) return "Voice note";
  if (isImage(b.file)) return b.file.caption ? `Photo: ${b.file.caption}` : "Photo";
  return `File: ${b.file.name}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
