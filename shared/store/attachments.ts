/**
 * Attachments (files, images, voice notes): types and the streaming rules both adapters share.
 *
 * The store keeps bytes and facts; it decides nothing about who may read. Each attachment names
 * the conversation it belongs to (`conv`), and the HTTP layer allows a download to that
 * conversation's participants (p2pParticipants) or the topic's members (Store.isMember).
 * MIME types are detected from the bytes by the caller; the store records what it is given.
 *
 * Memory stays bounded by the chunk size, never by the file: uploads are cut into chunks as they
 * arrive (boundedChunks) and written a few at a time, downloads read one chunk per pull.
 */
import { CommandError, ErrorCode } from "../errors.js";

/** Default largest attachment: 25 MiB, the common limit of chat apps for files and voice notes. */
export const DEFAULT_ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024;
/** Longest file name and MIME type kept: they are shown, never parsed, and must not bloat records. */
export const MAX_ATTACHMENT_NAME_CHARS = 255;
export const MAX_ATTACHMENT_MIME_CHARS = 127;

export interface NewAttachment {
  /** File name given by the uploader; display only (never used as a path). */
  name: string;
  /** MIME type, detected from the bytes by the caller. */
  mime: string;
  /** Client id of the uploader. */
  owner: string;
  /** The conversation it belongs to: p2pConversation(a, b) or a topic name. */
  conv: string;
  /** Upload time, ms; default now. */
  createdAt?: number;
  /**
   * This upload is the thumbnail of that attachment (same conversation): when it commits, the
   * parent's thumbnailId points to it (replacing and deleting an earlier thumbnail), and
   * deleting the parent deletes it.
   */
  thumbnailOf?: string;
}

export interface AttachmentInfo {
  id: string;
  name: string;
  mime: string;
  /** Bytes. */
  size: number;
  owner: string;
  conv: string;
  thumbnailId: string | null;
  thumbnailOf: string | null;
  createdAt: number;
}

/** Byte positions, both inclusive, as in an HTTP Range header: {start: 0, end: 0} is the first byte. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PutAttachmentOptions {
  /** A lower limit for this upload (e.g. per MIME type); never raises StoreLimits.attachmentMaxBytes. */
  maxBytes?: number;
}

/** Any byte stream: a Node Readable (an HTTP request), or an async generator of buffers. */
export type AttachmentSource = AsyncIterable<Uint8Array>;

/** The limit for one upload: the lower of the store's limit and the call's. */
export function effectiveMaxBytes(storeMax: number | undefined, opts: PutAttachmentOptions | undefined): number {
  const base = storeMax ?? DEFAULT_ATTACHMENT_MAX_BYTES;
  const own = opts?.maxBytes;
  return own !== undefined && Number.isFinite(own) && own >= 0 ? Math.min(base, Math.floor(own)) : base;
}

/** Reject metadata that could not be stored sensibly, before any byte is read. */
export function checkNewAttachment(meta: NewAttachment): void {
  const bad = (what: string) => new CommandError(ErrorCode.IM_ERR_BAD_ARGS, `attachment ${what}`);
  if (typeof meta.name !== "string" || meta.name.length > MAX_ATTACHMENT_NAME_CHARS) throw bad(`name must be at most ${MAX_ATTACHMENT_NAME_CHARS} characters`);
  if (typeof meta.mime !== "string" || meta.mime.length === 0 || meta.mime.length > MAX_ATTACHMENT_MIME_CHARS) {
    throw bad(`MIME type must be 1-${MAX_ATTACHMENT_MIME_CHARS} characters`);
  }
  if (typeof meta.owner !== "string" || meta.owner === "") throw bad("owner missing");
  if (typeof meta.conv !== "string" || meta.conv === "") throw bad("conversation missing");
  if (meta.createdAt !== undefined && !Number.isFinite(meta.createdAt)) throw bad("createdAt must be a number");
}

export function fileTooLarge(max: number): CommandError {
  return new CommandError(ErrorCode.IM_ERR_FILE_TOO_LARGE, `attachment larger than ${max} bytes`);
}

export function noSuchAttachment(id: string): CommandError {
  return new CommandError(ErrorCode.IM_ERR_NO_SUCH_ATTACHMENT, `no attachment ${JSON.stringify(id)}`);
}

/**
 * The inclusive byte span to send: the whole file without a range, else the range with its end
 * clamped to the last byte (RFC 9110 14.1.2). Null for an empty file without a range. Throws
 * IM_ERR_BAD_RANGE when the range is malformed or starts at or past the end (HTTP 416).
 */
export function resolveRange(size: number, range: ByteRange | undefined): ByteRange | null {
  if (range === undefined) return size === 0 ? null : { start: 0, end: size - 1 };
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new CommandError(ErrorCode.IM_ERR_BAD_RANGE, `malformed byte range ${start}-${end}`);
  }
  if (start >= size) throw new CommandError(ErrorCode.IM_ERR_BAD_RANGE, `byte range ${start}-${end} starts past the end of ${size} bytes`);
  return { start, end: Math.min(end, size - 1) };
}

/** An error thrown by the caller's byte source, kept apart from the store's own failures. */
export class SourceError extends Error {
  constructor(readonly original: unknown) {
    super("attachment source failed", { cause: original });
  }
}

/**
 * Cut a byte stream into chunks of exactly `chunkBytes` (the last one shorter), counting as it
 * goes: once more than `maxBytes` arrived it throws IM_ERR_FILE_TOO_LARGE and stops reading
 * (the for-await exit ends the source, so an HTTP request is not read to its end). Each chunk is
 * a fresh buffer the caller may keep. Errors of the source come out as SourceError.
 */
export async function* boundedChunks(source: AttachmentSource, chunkBytes: number, maxBytes: number): AsyncGenerator<Buffer> {
  let cur = Buffer.allocUnsafe(chunkBytes);
  let used = 0;
  let total = 0;
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      let step: IteratorResult<Uint8Array>;
      try {
        step = await iterator.next();
      } catch (err) {
        throw new SourceError(err);
      }
      if (step.done) break;
      const piece = step.value;
      if (!(piece instanceof Uint8Array)) throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "attachment data must be bytes, not text");
      total += piece.byteLength;
      if (total > maxBytes) throw fileTooLarge(maxBytes);
      let off = 0;
      while (off < piece.byteLength) {
        const n = Math.min(chunkBytes - used, piece.byteLength - off);
        cur.set(piece.subarray(off, off + n), used);
        used += n;
        off += n;
        if (used === chunkBytes) {
          yield cur;
          cur = Buffer.allocUnsafe(chunkBytes);
          used = 0;
        }
      }
    }
  } finally {
    // Stop a source we did not read to its end (too large, or our consumer gave up).
    await iterator.return?.().catch(() => undefined);
  }
  if (used > 0) yield cur.subarray(0, used);
}
