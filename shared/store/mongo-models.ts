/**
 * Collections and indexes of the MongoDB adapter (mongo-store.ts). The unique indexes are part of
 * the correctness argument, not an optimisation: dedup, "seq never reused" and "one inbox entry per
 * message" are enforced by them, so the store waits for every index to exist before serving.
 *
 * `topic_info` and `client_info` keep the v1 collection and field names (ClientID, TopicName, ...)
 * so tools written for FishChatServer v1 still read them. v1's `MemberList` array is replaced by
 * the `topic_members` collection: a topic's membership can grow without rewriting one document.
 */
import { Schema, type Connection, type Model } from "mongoose";

/**
 * A message. The recipient's inbox entry is embedded: `inboxOf` holds the recipient while the
 * message is unacknowledged and is removed by the ack, `ipos` stays. Message and inbox entry are
 * therefore one document, written by one insert, and no crash can leave one without the other.
 */
export interface MessageDoc {
  uuid: string;
  kind: "p2p" | "topic";
  conv: string;
  seq: number;
  from: string;
  to: string;
  body: string;
  ts: number;
  cmid?: string;
  ipos?: number;
  inboxOf?: string;
}

/**
 * Counters, one document per sequence: `conv:<conv>` holds a conversation's or topic's last seq;
 * `inbox:<recipient>` holds the last inbox position in `seq` and the unacknowledged count in `pending`.
 */
export interface CounterDoc {
  _id: string;
  seq: number;
  pending?: number;
}

export interface TopicInfoDoc {
  TopicName: string;
  CreaterID: string;
  CreatedAt: number;
  /** Always "": in v1 it named the msg_server that created the topic; topics are no longer tied to one. */
  MsgServerAddr: string;
  /** Absent in v1 documents and before owners existed: the creator, public, no admins. */
  Owner?: string;
  Policy?: "public" | "private";
  Admins?: string[];
}

export interface InviteDoc {
  topic: string;
  clientId: string;
  invitedAt: number;
}

export interface MemberDoc {
  topic: string;
  clientId: string;
  /** When the member joined (ms); also gives the join upsert a field of its own to set. */
  joinedAt: number;
}

export interface CursorDoc {
  clientId: string;
  topic: string;
  seq: number;
}

export interface ClientInfoDoc {
  ClientID: string;
  ClientAddr: string;
  MsgServerAddr: string;
  Alive: boolean;
  LastSeen: number;
}

/**
 * A client's state in one conversation (conversations.ts): its read position, and for p2p the
 * last message's seq and ts, which order the conversation list. Topic documents carry only the
 * read position: a topic's last message is read from the topic itself, so a post writes nothing
 * per member.
 */
export interface ConversationDoc {
  clientId: string;
  conv: string;
  kind: "p2p" | "topic";
  /** p2p: the other participant; topic: the topic name. */
  target: string;
  read?: number;
  lastSeq?: number;
  lastTs?: number;
}

/** What an attachment's GridFS file document keeps in `metadata`. */
export interface AttachmentMeta {
  mime: string;
  owner: string;
  conv: string;
  createdAt: number;
  thumbnailId?: string;
  thumbnailOf?: string;
}

/** A GridFS file document (bucket `attachments`), written by the driver once every chunk is in. */
export interface AttachmentFileDoc {
  _id: string;
  length: number;
  chunkSize: number;
  uploadDate: Date;
  filename: string;
  metadata: AttachmentMeta;
}

export interface AttachmentChunkDoc {
  files_id: string;
  n: number;
  data: Buffer;
}

/**
 * Work in progress on an attachment: an upload writing chunks, or a delete removing them. A
 * record older than a day is swept at open (mongo-attachments.ts), so a crash leaves no chunks.
 */
export interface AttachmentWorkDoc {
  _id: string;
  startedAt: Date;
  deleting?: boolean;
}

export interface MongoModels {
  Message: Model<MessageDoc>;
  Counter: Model<CounterDoc>;
  TopicInfo: Model<TopicInfoDoc>;
  Member: Model<MemberDoc>;
  Invite: Model<InviteDoc>;
  Cursor: Model<CursorDoc>;
  ClientInfo: Model<ClientInfoDoc>;
  Conversation: Model<ConversationDoc>;
  AttachmentFile: Model<AttachmentFileDoc>;
  AttachmentChunk: Model<AttachmentChunkDoc>;
  AttachmentWork: Model<AttachmentWorkDoc>;
}

/** The GridFS bucket of attachments: collections `attachments.files` and `attachments.chunks`. */
export const ATTACHMENT_BUCKET = "attachments";

// No __v: documents are only changed by atomic operators, never by load-modify-save.
const OPTS = { versionKey: false, bufferCommands: false } as const;

function messageSchema(): Schema<MessageDoc> {
  const s = new Schema<MessageDoc>(
    {
      uuid: { type: String, required: true },
      kind: { type: String, required: true, enum: ["p2p", "topic"] },
      conv: { type: String, required: true },
      seq: { type: Number, required: true },
      from: { type: String, required: true },
      to: { type: String, required: true },
      body: { type: String, default: "" },
      ts: { type: Number, required: true },
      cmid: String,
      ipos: Number,
      inboxOf: String,
    },
    OPTS,
  );
  s.index({ uuid: 1 }, { unique: true });
  s.index({ conv: 1, seq: 1 }, { unique: true });
  // Dedup: only messages sent with a cmid take part.
  s.index({ from: 1, cmid: 1 }, { unique: true, partialFilterExpression: { cmid: { $exists: true } } });
  // The inbox: unacknowledged messages of a recipient by position; acked ones leave the index.
  s.index({ inboxOf: 1, ipos: 1 }, { unique: true, partialFilterExpression: { inboxOf: { $exists: true } } });
  return s;
}

function counterSchema(): Schema<CounterDoc> {
  return new Schema<CounterDoc>(
    // No defaults: on upsert mongoose would add them as $setOnInsert next to our $inc.
    { _id: { type: String, required: true }, seq: Number, pending: Number },
    OPTS,
  );
}

function topicInfoSchema(): Schema<TopicInfoDoc> {
  const s = new Schema<TopicInfoDoc>(
    {
      TopicName: { type: String, required: true },
      CreaterID: { type: String, required: true },
      CreatedAt: { type: Number, default: 0 },
      MsgServerAddr: { type: String, default: "" },
      Owner: String,
      Policy: String,
      Admins: [String],
    },
    OPTS,
  );
  s.index({ TopicName: 1 }, { unique: true });
  // countDocuments({Owner}) for maxTopicsPerUser.
  s.index({ Owner: 1 });
  return s;
}

function inviteSchema(): Schema<InviteDoc> {
  const s = new Schema<InviteDoc>({ topic: { type: String, required: true }, clientId: { type: String, required: true }, invitedAt: Number }, OPTS);
  s.index({ topic: 1, clientId: 1 }, { unique: true });
  return s;
}

function memberSchema(): Schema<MemberDoc> {
  const s = new Schema<MemberDoc>(
    { topic: { type: String, required: true }, clientId: { type: String, required: true }, joinedAt: Number },
    OPTS,
  );
  s.index({ topic: 1, clientId: 1 }, { unique: true });
  s.index({ clientId: 1, topic: 1 });
  return s;
}

function cursorSchema(): Schema<CursorDoc> {
  const s = new Schema<CursorDoc>(
    {
      clientId: { type: String, required: true },
      topic: { type: String, required: true },
      seq: Number,
    },
    OPTS,
  );
  s.index({ clientId: 1, topic: 1 }, { unique: true });
  return s;
}

function clientInfoSchema(): Schema<ClientInfoDoc> {
  const s = new Schema<ClientInfoDoc>(
    {
      ClientID: { type: String, required: true },
      ClientAddr: { type: String, default: "" },
      MsgServerAddr: { type: String, default: "" },
      Alive: { type: Boolean, default: true },
      LastSeen: { type: Number, default: 0 },
    },
    OPTS,
  );
  s.index({ ClientID: 1 }, { unique: true });
  return s;
}

function conversationSchema(): Schema<ConversationDoc> {
  const s = new Schema<ConversationDoc>(
    {
      clientId: { type: String, required: true },
      conv: { type: String, required: true },
      kind: { type: String, required: true, enum: ["p2p", "topic"] },
      target: { type: String, required: true },
      read: Number,
      lastSeq: Number,
      lastTs: Number,
    },
    OPTS,
  );
  s.index({ clientId: 1, conv: 1 }, { unique: true });
  // The conversation list: a client's p2p conversations, newest first (topic documents have no lastTs).
  s.index({ clientId: 1, lastTs: -1, conv: -1 }, { partialFilterExpression: { lastTs: { $exists: true } } });
  return s;
}

function attachmentFileSchema(): Schema<AttachmentFileDoc> {
  const s = new Schema<AttachmentFileDoc>(
    {
      _id: { type: String, required: true },
      length: Number,
      chunkSize: Number,
      uploadDate: Date,
      filename: String,
      metadata: { mime: String, owner: String, conv: String, createdAt: Number, thumbnailId: String, thumbnailOf: String },
    },
    OPTS,
  );
  // The GridFS spec's index; the driver would create it on the first upload into an empty bucket.
  s.index({ filename: 1, uploadDate: 1 });
  // attachmentsOf(): a conversation's attachments by age, for retention.
  s.index({ "metadata.conv": 1, "metadata.createdAt": 1 });
  // pruneAttachments(): every conversation's old attachments, oldest first.
  s.index({ "metadata.createdAt": 1 });
  return s;
}

function attachmentChunkSchema(): Schema<AttachmentChunkDoc> {
  const s = new Schema<AttachmentChunkDoc>({ files_id: { type: String, required: true }, n: Number, data: Buffer }, OPTS);
  s.index({ files_id: 1, n: 1 }, { unique: true });
  return s;
}

function attachmentWorkSchema(): Schema<AttachmentWorkDoc> {
  const s = new Schema<AttachmentWorkDoc>({ _id: { type: String, required: true }, startedAt: Date, deleting: Boolean }, OPTS);
  s.index({ startedAt: 1 });
  return s;
}

/** Compile the models on one connection (never the global mongoose one) and build their indexes. */
export async function defineModels(conn: Connection): Promise<MongoModels> {
  const models: MongoModels = {
    Message: conn.model<MessageDoc>("Message", messageSchema(), "messages"),
    Counter: conn.model<CounterDoc>("Counter", counterSchema(), "counters"),
    TopicInfo: conn.model<TopicInfoDoc>("TopicInfo", topicInfoSchema(), "topic_info"),
    Member: conn.model<MemberDoc>("Member", memberSchema(), "topic_members"),
    Invite: conn.model<InviteDoc>("Invite", inviteSchema(), "topic_invites"),
    Cursor: conn.model<CursorDoc>("Cursor", cursorSchema(), "cursors"),
    ClientInfo: conn.model<ClientInfoDoc>("ClientInfo", clientInfoSchema(), "client_info"),
    Conversation: conn.model<ConversationDoc>("Conversation", conversationSchema(), "conversations"),
    AttachmentFile: conn.model<AttachmentFileDoc>("AttachmentFile", attachmentFileSchema(), `${ATTACHMENT_BUCKET}.files`),
    AttachmentChunk: conn.model<AttachmentChunkDoc>("AttachmentChunk", attachmentChunkSchema(), `${ATTACHMENT_BUCKET}.chunks`),
    AttachmentWork: conn.model<AttachmentWorkDoc>("AttachmentWork", attachmentWorkSchema(), "attachment_work"),
  };
  // init() resolves once the collection and its indexes exist; serving before that could let a
  // duplicate (from, cmid) or a duplicate seq slip in while the unique index is still building.
  await Promise.all(Object.values(models).map((m: Model<unknown>) => m.init()));
  return models;
}

/** MongoDB's duplicate-key error (E11000), the signal that a unique index refused an insert. */
export function isDuplicateKey(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { code?: unknown; writeErrors?: { code?: unknown }[] };
  return e.code === 11000 || (Array.isArray(e.writeErrors) && e.writeErrors.some((w) => w.code === 11000));
}
