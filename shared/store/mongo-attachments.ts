/**
 * Attachments for the MongoDB adapter: a GridFS bucket `attachments` (rules: attachments.ts;
 * collections: mongo-models.ts).
 *
 * Upload: boundedChunks cuts the source into GridFS-sized chunks and each is written only after
 * the previous one was inserted (the write callback), so memory holds one chunk and no insert is
 * in flight when an upload is refused. The driver inserts the file document after the last chunk,
 * so an attachment appears all at once. A refused or failed upload aborts the GridFS stream
 * (which deletes its chunks) and deletes anything left. An `attachment_work` record spans every
 * upload and delete; one older than a day means its process died midway, and the sweep at open
 * removes what it left.
 *
 * GridFS ids may be any BSON value (GridFS spec); ours are random UUID strings, unguessable
 * unlike ObjectIds. The driver's TypeScript types say ObjectId only, hence gridId().
 */
import { randomUUID } from "node:crypto";
import { Readable, type Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { mongo, type Connection } from "mongoose";
import { CommandError, ErrorCode, type ImError } from "../errors.js";
import {
  boundedChunks,
  checkNewAttachment,
  effectiveMaxBytes,
  noSuchAttachment,
  resolveRange,
  type AttachmentInfo,
  type AttachmentSource,
  type NewAttachment,
  type PutAttachmentOptions,
} from "./attachments.js";
import { ATTACHMENT_BUCKET, isDuplicateKey, type AttachmentChunkDoc, type AttachmentFileDoc, type AttachmentMeta, type MongoModels } from "./mongo-models.js";
import type { Store, StoreLimits } from "./store.js";

export type AttachmentOps = Pick<Store, "putAttachment" | "attachmentInfo" | "readAttachment" | "deleteAttachment" | "attachmentsOf" | "pruneAttachments">;

/** GridFS's default chunk size: 255 KiB keeps a chunk document well under the 16 MiB BSON limit. */
export const GRIDFS_CHUNK_BYTES = 255 * 1024;
const STALE_WORK_MS = 24 * 60 * 60 * 1000;

function gridId(id: string): mongo.ObjectId {
  return id as unknown as mongo.ObjectId;
}

function toInfo(d: AttachmentFileDoc): AttachmentInfo {
  const m = d.metadata;
  return {
    id: d._id,
    name: d.filename,
    mime: m.mime,
    size: d.length,
    owner: m.owner,
    conv: m.conv,
    thumbnailId: m.thumbnailId ?? null,
    thumbnailOf: m.thumbnailOf ?? null,
    createdAt: m.createdAt,
  };
}

/** Write one chunk and wait until GridFS has taken it (for a full chunk: inserted it). */
function writeChunk(w: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => w.write(chunk, (err) => (err ? reject(err) : resolve())));
}

/** The driver reports a file or chunk that vanished under a download with these message prefixes. */
function isMissing(err: unknown): boolean {
  return err instanceof Error && /^(FileNotFound|ChunkIsMissing)/.test(err.message);
}

export function mongoAttachmentOps(conn: Connection, models: MongoModels, limits: StoreLimits, mapError: (err: unknown, op: string) => ImError) {
  const { AttachmentFile, AttachmentWork } = models;
  const db = conn.db;
  if (!db) throw new Error("MongoDB connection has no database handle");
  const bucket = new mongo.GridFSBucket(db, { bucketName: ATTACHMENT_BUCKET, chunkSizeBytes: GRIDFS_CHUNK_BYTES });
  // The driver's collections, typed with our string ids (mongoose's would insist on ObjectId).
  const files = db.collection<AttachmentFileDoc>(`${ATTACHMENT_BUCKET}.files`);
  const chunks = db.collection<AttachmentChunkDoc>(`${ATTACHMENT_BUCKET}.chunks`);

  /** Remove a file document and all chunks of an id, whatever state they are in. */
  async function purge(id: string): Promise<void> {
    await chunks.deleteMany({ files_id: id });
    await files.deleteOne({ _id: id });
  }

  async function remove(id: string): Promise<boolean> {
    try {
      await AttachmentWork.updateOne({ _id: id }, { $setOnInsert: { startedAt: new Date(), deleting: true } }, { upsert: true });
    } catch (err) {
      // A concurrent delete of the same id created the record first: it exists, as wanted.
      if (!isDuplicateKey(err)) throw err;
    }
    // findOneAndDelete: of two concurrent deletes exactly one sees the document.
    const doc = await files.findOneAndDelete({ _id: id });
    if (doc !== null) {
      await chunks.deleteMany({ files_id: id });
      const meta = doc.metadata;
      if (meta.thumbnailId) await remove(meta.thumbnailId);
      if (meta.thumbnailOf) await files.updateOne({ _id: meta.thumbnailOf, "metadata.thumbnailId": id }, { $unset: { "metadata.thumbnailId": "" } });
    }
    await AttachmentWork.deleteOne({ _id: id });
    return doc !== null;
  }

  async function put(meta: NewAttachment, data: AttachmentSource, opts?: PutAttachmentOptions): Promise<AttachmentInfo> {
    checkNewAttachment(meta);
    const parentId = meta.thumbnailOf;
    if (parentId !== undefined) {
      const parent = await AttachmentFile.findById(parentId).lean<AttachmentFileDoc>();
      if (parent === null) throw noSuchAttachment(parentId);
      if (parent.metadata.conv !== meta.conv) throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "a thumbnail must belong to its attachment's conversation");
    }
    const id = randomUUID();
    const max = effectiveMaxBytes(limits.attachmentMaxBytes, opts);
    const metadata: AttachmentMeta = { mime: meta.mime, owner: meta.owner, conv: meta.conv, createdAt: meta.createdAt ?? Date.now() };
    if (parentId !== undefined) metadata.thumbnailOf = parentId;
    await AttachmentWork.create({ _id: id, startedAt: new Date() });
    const upload = bucket.openUploadStreamWithId(gridId(id), meta.name, { metadata });
    // Failures also arrive through the callbacks; without a listener an 'error' event would crash.
    upload.on("error", () => undefined);
    let size = 0;
    try {
      for await (const chunk of boundedChunks(data, GRIDFS_CHUNK_BYTES, max)) {
        size += chunk.length;
        await writeChunk(upload, chunk);
      }
      upload.end();
      await finished(upload);
    } catch (err) {
      // abort() deletes the chunks written so far; it refuses once the stream ended, so purge too.
      await upload.abort().catch(() => undefined);
      await purge(id).catch(() => undefined);
      await AttachmentWork.deleteOne({ _id: id }).catch(() => undefined);
      throw err;
    }
    if (parentId !== undefined) {
      const prev = await files.findOneAndUpdate({ _id: parentId, "metadata.conv": meta.conv }, { $set: { "metadata.thumbnailId": id } }, { returnDocument: "before" });
      if (prev === null) {
        await purge(id);
        await AttachmentWork.deleteOne({ _id: id });
        throw noSuchAttachment(parentId);
      }
      const old = prev.metadata.thumbnailId;
      if (old && old !== id) await remove(old);
    }
    await AttachmentWork.deleteOne({ _id: id });
    return toInfo({ _id: id, length: size, chunkSize: GRIDFS_CHUNK_BYTES, uploadDate: new Date(), filename: meta.name, metadata });
  }

  /** Wrap a GridFS download so a file deleted under it fails as IM_ERR_NO_SUCH_ATTACHMENT. */
  function download(id: string, start: number, end: number): Readable {
    const source = bucket.openDownloadStream(gridId(id), { start, end: end + 1 }); // GridFS end is exclusive
    async function* bytes(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of source) yield chunk as Buffer;
      } catch (err) {
        throw isMissing(err) ? new CommandError(ErrorCode.IM_ERR_NO_SUCH_ATTACHMENT, `attachment ${id} was deleted while being read`) : mapError(err, "readAttachment");
      }
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  return {
    putAttachment: put,

    async attachmentInfo(id) {
      const d = await AttachmentFile.findById(id).lean<AttachmentFileDoc>();
      return d === null ? null : toInfo(d);
    },

    async readAttachment(id, range) {
      const d = await AttachmentFile.findById(id).lean<AttachmentFileDoc>();
      if (d === null) throw noSuchAttachment(id);
      const span = resolveRange(d.length, range);
      return span === null ? Readable.from([], { objectMode: false }) : download(id, span.start, span.end);
    },

    deleteAttachment: remove,

    async attachmentsOf(conv, createdBefore, limit) {
      const n = Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
      if (n === 0) return [];
      const docs = await AttachmentFile.find({ "metadata.conv": conv, "metadata.createdAt": { $lt: createdBefore } })
        .sort({ "metadata.conv": 1, "metadata.createdAt": 1 })
        .limit(n)
        .lean<AttachmentFileDoc[]>();
      return docs.map(toInfo);
    },

    async pruneAttachments(createdBefore, { budget }) {
      // What it deletes no longer matches, so each slice starts over from the oldest: no cursor.
      const n = Math.max(1, Math.floor(budget));
      const docs = await AttachmentFile.find({ "metadata.createdAt": { $lt: createdBefore }, "metadata.thumbnailOf": null }, { _id: 1 })
        .sort({ "metadata.createdAt": 1 })
        .limit(n)
        .lean<Pick<AttachmentFileDoc, "_id">[]>();
      let deleted = 0;
      for (const d of docs) if (await remove(d._id)) deleted++;
      return docs.length >= n ? { scanned: docs.length, deleted, next: "more" } : { scanned: docs.length, deleted };
    },

    /**
     * Finish what dead processes left: uploads older than a day whose file never appeared lose
     * their chunks; deletes older than a day are completed. Returns how many records it handled.
     */
    async sweepStaleWork(): Promise<number> {
      const stale = await AttachmentWork.find({ startedAt: { $lt: new Date(Date.now() - STALE_WORK_MS) } }).lean();
      for (const w of stale) {
        if (w.deleting || (await AttachmentFile.exists({ _id: w._id })) === null) await purge(w._id);
        await AttachmentWork.deleteOne({ _id: w._id });
      }
      return stale.length;
    },
  } satisfies AttachmentOps & { sweepStaleWork(): Promise<number> };
}
