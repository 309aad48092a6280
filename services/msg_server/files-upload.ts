/**
 * What an upload needs besides the store: the MIME type from the first bytes (file-type; the
 * client's Content-Type is never trusted), a safe display name, and image thumbnails (sharp).
 */
import type { Readable } from "node:stream";
import { fileTypeFromBuffer } from "file-type";
import sharp from "sharp";
import { MAX_ATTACHMENT_NAME_CHARS } from "../../shared/store/attachments.js";
import type { AttachmentInfo, Store } from "../../shared/store/store.js";
import { Semaphore } from "../../shared/semaphore.js";

/** Bytes looked at to detect the type (file-type's own sample size). */
export const SNIFF_BYTES = 4100;
export const OCTET_STREAM = "application/octet-stream";
export const TEXT_PLAIN = "text/plain; charset=utf-8";
/** Images that get a thumbnail. */
export const THUMBNAIL_INPUT = new Set(["image/jpeg", "image/png", "image/webp", "image/gif"]);

/** The first `n` bytes of a stream, and the whole stream again (those bytes first). */
export async function peek(it: AsyncIterator<Uint8Array>, n: number): Promise<{ head: Buffer; body: AsyncIterable<Uint8Array> }> {
  const chunks: Buffer[] = [];
  let len = 0;
  let ended = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    chunks.push(b);
    len += b.length;
  }
  const head = Buffer.concat(chunks);
  async function* body(): AsyncGenerator<Uint8Array> {
    try {
      if (head.length > 0) yield head;
      if (ended) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      // Stop reading (the store gave up, or is done); the caller decides what happens to the socket.
      await it.return?.();
    }
  }
  return { head, body: body() };
}

/** The type of a file from its first bytes: a known signature, else UTF-8 text, else octet-stream. */
export async function detectMime(head: Buffer): Promise<string> {
  if (head.length === 0) return OCTET_STREAM;
  const t = await fileTypeFromBuffer(head);
  if (t) return t.mime;
  if (head.includes(0)) return OCTET_STREAM;
  try {
    // stream: true: a character cut by the end of the sample is not an error.
    new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: true });
    return TEXT_PLAIN;
  } catch {
    return OCTET_STREAM;
  }
}

/** A display name: no directory part, no control or bidi-override characters, at most 255 characters. */
export function safeName(raw: string | null): string {
  const base = (raw ?? "").split(/[/\\]/).pop() ?? "";
  const clean = base.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, "").trim();
  const name = [...clean].slice(0, MAX_ATTACHMENT_NAME_CHARS).join("").slice(0, MAX_ATTACHMENT_NAME_CHARS);
  return name === "" || name === "." || name === ".." ? "file" : name;
}

export interface ThumbnailOptions {
  px: number;
  maxPixels: number;
}

/**
 * Thumbnails, a few at a time (sharp is CPU-bound and the machine is shared). sharp's own thread
 * pool is kept at one thread per image and its cache off: a chat server makes small images.
 */
export class Thumbnailer {
  private readonly slots: Semaphore;

  constructor(
    private readonly store: Store,
    private readonly o: ThumbnailOptions & { concurrency: number },
  ) {
    this.slots = new Semaphore(o.concurrency);
    sharp.concurrency(1);
    sharp.cache(false);
  }

  /**
   * Make and store the thumbnail of `info` (an image). Resolves with the thumbnail's id, or null
   * when the image cannot be decoded or is too large; the original stays as it is either way.
   */
  async make(info: AttachmentInfo): Promise<string | null> {
    if (!THUMBNAIL_INPUT.has(info.mime)) return null;
    return this.slots.run(async () => {
      const input: Readable = await this.store.readAttachment(info.id);
      const resize = sharp({ limitInputPixels: this.o.maxPixels, failOn: "error", sequentialRead: true })
        .rotate()
        .resize({ width: this.o.px, height: this.o.px, fit: "inside", withoutEnlargement: true })
        .webp({ quality: 75 });
      input.on("error", (err) => resize.destroy(err));
      input.pipe(resize);
      const bytes = await resize.toBuffer();
      const thumb = await this.store.putAttachment(
        { name: "thumbnail.webp", mime: "image/webp", owner: info.owner, conv: info.conv, thumbnailOf: info.id },
        (async function* () {
          yield bytes;
        })(),
      );
      return thumb.id;
    });
  }
}
