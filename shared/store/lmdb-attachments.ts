/**
 * Attachments for the LMDB adapter (rules: attachments.ts; layout: lmdb-layout.ts `files`,
 * `chunks`, `convFiles`, `uploads`).
 *
 * An upload writes its bytes as 64 KiB chunk records, 16 chunks (1 MiB) per transaction, and
 * waits for each transaction before reading more, so memory holds at most one batch whatever the
 * file size. The first batch also writes an `uploads` record naming the process; the last one
 * writes the file record and removes the `uploads` record, so an attachment appears all at once.
 * A refused or failed upload removes its chunks; chunks of a process that died mid-upload are
 * removed by the next process that opens the store (sweepStaleUploads).
 */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { CommandError, ErrorCode } from "../errors.js";
import {
  boundedChunks,
  checkNewAttachment,
  effectiveMaxBytes,
  noSuchAttachment,
  resolveRange,
  SourceError,
  type AttachmentInfo,
  type ByteRange,
} from "./attachments.js";
import { MAX_POS, assertKeyFits, clampLimit, type FileValue, type LmdbDbs } from "./lmdb-layout.js";
import type { Store, StoreLimits } from "./store.js";

export type AttachmentOps = Pick<Store, "putAttachment" | "attachmentInfo" | "readAttachment" | "deleteAttachment" | "attachmentsOf" | "pruneAttachments">;

/** 64 KiB: big enough that per-record overhead is negligible, small enough to stream in steps. */
export const LMDB_CHUNK_BYTES = 64 * 1024;
/** Chunks per write transaction: 1 MiB, the most an upload holds in memory at once. */
const BATCH_CHUNKS = 16;
/** An upload record older than this is swept even if its pid is alive (the pid may be reused). */
const STALE_UPLOAD_MS = 24 * 60 * 60 * 1000;

const PARENT_GONE = Symbol("parent gone");

function toInfo(id: string, f: FileValue): AttachmentInfo {
  return {
    id,
    name: f.name,
    mime: f.mime,
    size: f.size,
    owner: f.owner,
    conv: f.conv,
    thumbnailId: f.thumbnailId ?? null,
    thumbnailOf: f.thumbnailOf ?? null,
    createdAt: f.createdAt,
  };
}

/** Remove every chunk of `id` (whatever was written) and its upload record. Inside a write transaction. */
function removeChunksSync(dbs: LmdbDbs, id: string): void {
  // Collect first: removing under a live cursor of the same transaction is not safe in lmdb-js.
  const keys = Array.from(dbs.chunks.getKeys({ start: [id, 0], end: [id, MAX_POS] }));
  for (const key of keys) dbs.chunks.removeSync(key);
  dbs.uploads.removeSync(id);
}

/** Delete an attachment with its thumbnail, and unlink it from its parent. Inside a write transaction. */
function deleteFileSync(dbs: LmdbDbs, id: string): boolean {
  const f = dbs.files.get(id);
  if (f === undefined) return false;
  removeChunksSync(dbs, id);
  dbs.files.removeSync(id);
  dbs.convFiles.removeSync([f.conv, f.createdAt, id]);
  if (f.thumbnailId !== undefined) deleteFileSync(dbs, f.thumbnailId);
  if (f.thumbnailOf !== undefined) {
    const parent = dbs.files.get(f.thumbnailOf);
    if (parent?.thumbnailId === id) {
      const { thumbnailId: _gone, ...rest } = parent;
      dbs.files.putSync(f.thumbnailOf, rest);
    }
  }
  return true;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Remove the chunks of uploads whose process is gone (killed mid-upload) or that are older than a
 * day. Run at open; uploads of live processes, including other processes on this store, stay.
 */
export async function sweepStaleUploads(dbs: LmdbDbs): Promise<number> {
  const now = Date.now();
  const stale: string[] = [];
  for (const { key, value } of dbs.uploads.getRange()) {
    if (value.pid !== process.pid && (!processAlive(value.pid) || now - value.startedAt > STALE_UPLOAD_MS)) stale.push(key);
  }
  if (stale.length === 0) return 0;
  await dbs.env.transaction(() => {
    for (const id of stale) if (dbs.uploads.get(id) !== undefined && dbs.files.get(id) === undefined) removeChunksSync(dbs, id);
  });
  return stale.length;
}

/** The bytes of one attachment span, one chunk per pull (Readable's backpressure bounds the rest). */
class ChunkStream extends Readable {
  private pos: number;

  constructor(
    private readonly dbs: LmdbDbs,
    private readonly id: string,
    private readonly chunkBytes: number,
    private readonly span: ByteRange | null,
  ) {
    super();
    this.pos = span?.start ?? 0;
  }

  override _read(): void {
    const span = this.span;
    if (span === null || this.pos > span.end) {
      this.push(null);
      return;
    }
    const n = Math.floor(this.pos / this.chunkBytes);
    const buf = this.dbs.chunks.getBinary([this.id, n]);
    if (buf === undefined) {
      this.destroy(new CommandError(ErrorCode.IM_ERR_NO_SUCH_ATTACHMENT, `attachment ${this.id} was deleted while being read`));
      return;
    }
    const base = n * this.chunkBytes;
    const part = buf.subarray(this.pos - base, Math.min(buf.length, span.end - base + 1));
    this.pos += part.length;
    this.push(part);
  }
}

export function lmdbAttachmentOps(dbs: LmdbDbs, limits: StoreLimits): AttachmentOps {
  const { env } = dbs;

  return {
    async putAttachment(meta, data, opts) {
      checkNewAttachment(meta);
      const id = randomUUID();
      assertKeyFits(meta.conv, id);
      const parentId = meta.thumbnailOf;
      if (parentId !== undefined) {
        assertKeyFits(parentId);
        env.resetReadTxn();
        const parent = dbs.files.get(parentId);
        if (parent === undefined) throw noSuchAttachment(parentId);
        if (parent.conv !== meta.conv) throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "a thumbnail must belong to its attachment's conversation");
      }
      const max = effectiveMaxBytes(limits.attachmentMaxBytes, opts);
      const rec: FileValue = {
        name: meta.name,
        mime: meta.mime,
        size: 0,
        owner: meta.owner,
        conv: meta.conv,
        createdAt: meta.createdAt ?? Date.now(),
        chunkBytes: LMDB_CHUNK_BYTES,
      };
      if (parentId !== undefined) rec.thumbnailOf = parentId;

      let batch: Buffer[] = [];
      let written = 0;
      const writeBatch = (final: boolean) => {
        const chunks = batch;
        const first = written;
        batch = [];
        written += chunks.length;
        return env.transaction(() => {
          // Decide before writing: a callback that returns early must have written nothing.
          const parent = final && parentId !== undefined ? dbs.files.get(parentId) : undefined;
          if (final && parentId !== undefined && (parent === undefined || parent.conv !== rec.conv)) return PARENT_GONE;
          // Only an upload that spans several transactions can leave chunks behind.
          if (first === 0 && !final) dbs.uploads.putSync(id, { pid: process.pid, startedAt: Date.now() });
          chunks.forEach((c, i) => dbs.chunks.putSync([id, first + i], c));
          if (!final) return true;
          if (parentId !== undefined && parent !== undefined) {
            if (parent.thumbnailId !== undefined) deleteFileSync(dbs, parent.thumbnailId);
            dbs.files.putSync(parentId, { ...parent, thumbnailId: id });
          }
          dbs.files.putSync(id, rec);
          dbs.convFiles.putSync([rec.conv, rec.createdAt, id], 1);
          dbs.uploads.removeSync(id);
          return true;
        });
      };

      try {
        for await (const chunk of boundedChunks(data, LMDB_CHUNK_BYTES, max)) {
          rec.size += chunk.length;
          batch.push(chunk);
          if (batch.length >= BATCH_CHUNKS) await writeBatch(false);
        }
        if ((await writeBatch(true)) === PARENT_GONE) throw noSuchAttachment(parentId ?? "");
      } catch (err) {
        if (written > 0) await env.transaction(() => removeChunksSync(dbs, id));
        throw err instanceof SourceError ? err.original : err;
      }
      return toInfo(id, rec);
    },

    async attachmentInfo(id) {
      const f = dbs.files.get(id);
      return f === undefined ? null : toInfo(id, f);
    },

    async readAttachment(id, range) {
      const f = dbs.files.get(id);
      if (f === undefined) throw noSuchAttachment(id);
      return new ChunkStream(dbs, id, f.chunkBytes, resolveRange(f.size, range));
    },

    async deleteAttachment(id) {
      return env.transaction(() => deleteFileSync(dbs, id));
    },

    async attachmentsOf(conv, createdBefore, limit) {
      const n = clampLimit(limit);
      const out: AttachmentInfo[] = [];
      if (n === 0) return out;
      for (const key of dbs.convFiles.getKeys({ start: [conv, Number.MIN_SAFE_INTEGER, ""], end: [conv, createdBefore, ""] })) {
        if (out.length >= n) break;
        const f = dbs.files.get(key[2]);
        if (f !== undefined) out.push(toInfo(key[2], f));
      }
      return out;
    },

    async pruneAttachments(createdBefore, { budget, after }) {
      // The cursor is the last [conv, createdAt, id] key looked at; the walk covers every conversation.
      const start = after === undefined ? undefined : (JSON.parse(after) as [string, number, string]);
      const old: string[] = [];
      let scanned = 0;
      let last: [string, number, string] | undefined;
      for (const key of dbs.convFiles.getKeys(start ? { start } : {})) {
        if (start && key[0] === start[0] && key[1] === start[1] && key[2] === start[2]) continue;
        if (scanned >= budget) break;
        scanned++;
        last = key;
        if (key[1] < createdBefore && dbs.files.get(key[2])?.thumbnailOf === undefined) old.push(key[2]);
      }
      let deleted = 0;
      if (old.length > 0) await env.transaction(() => old.forEach((id) => deleteFileSync(dbs, id) && deleted++));
      return scanned >= budget && last ? { scanned, deleted, next: JSON.stringify(last) } : { scanned, deleted };
    },
  };
}
