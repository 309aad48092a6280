/**
 * Read positions and the conversation list for the MongoDB adapter (rules: conversations.ts,
 * collection `conversations`: mongo-models.ts).
 *
 * After a p2p message is inserted, one bulkWrite updates both participants' documents: lastSeq
 * and lastTs move only forward (a pipeline update compares with the stored lastSeq, so two
 * msg_servers finishing out of order cannot move a conversation back), and the sender's read
 * position moves to the message. A topic post updates only the sender's document.
 * These writes follow the insert, so a crash in between leaves a message the list does not show
 * yet; a retry of that send (same cmid) repeats them, and so does the next message.
 */
import type { mongo } from "mongoose";
import { checkCursor, convTarget, isAfter, mergePage, readSeqArg, summary, type ConversationCursor, type ConversationSummary } from "./conversations.js";
import { isDuplicateKey, type ConversationDoc, type MessageDoc, type MongoModels } from "./mongo-models.js";
import type { Store, StoredMessage } from "./store.js";

export type ConversationOps = Pick<Store, "setReadPosition" | "readPositions" | "conversations">;

export interface ConversationHooks {
  /** After a p2p insert (or a duplicate of one): both participants' summaries, the sender's read position. */
  touchP2P(msg: StoredMessage): Promise<void>;
  /** After a topic insert: the sender has read the topic up to its own message. */
  markOwnRead(clientId: string, conv: string, seq: number): Promise<void>;
  /** After a new membership: the member starts with the history before it read. */
  readFromHead(clientId: string, topic: string): Promise<void>;
}

/** Fields a StoredMessage is built from: never _id or the inbox marker. */
const MESSAGE_FIELDS = { _id: 0, inboxOf: 0, ipos: 0 } as const;

function toStored(d: MessageDoc): StoredMessage {
  const m: StoredMessage = { uuid: d.uuid, kind: d.kind, conv: d.conv, seq: d.seq, from: d.from, to: d.to, body: d.body, ts: d.ts };
  if (d.cmid !== undefined && d.cmid !== null) m.cmid = d.cmid;
  return m;
}

/** Upserts race on the unique (clientId, conv): the loser's retry finds the document and updates it. */
async function retryOnceOnDuplicate(op: () => Promise<unknown>): Promise<void> {
  try {
    await op();
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    await op();
  }
}

function positiveLimit(limit: number): number {
  return Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
}

export function mongoConversationOps({ Conversation, Counter, Message, Member, TopicInfo }: MongoModels): ConversationOps & ConversationHooks {
  const db = Conversation.db.db;
  if (!db) throw new Error("MongoDB connection has no database handle");
  // The driver's collection: mongoose 9 refuses update pipelines unless told, and casts nothing here anyway.
  const conversations = db.collection<ConversationDoc>(Conversation.collection.collectionName);

  async function head(conv: string): Promise<number> {
    return (await Counter.findById(`conv:${conv}`).lean())?.seq ?? 0;
  }

  /** The stored messages at exactly these (conv, seq) positions. */
  async function messagesAt(at: readonly { conv: string; seq: number }[]): Promise<Map<string, StoredMessage>> {
    const out = new Map<string, StoredMessage>();
    if (at.length === 0) return out;
    const docs = await Message.find({ $or: at.map(({ conv, seq }) => ({ conv, seq })) }, MESSAGE_FIELDS).lean<MessageDoc[]>();
    for (const d of docs) out.set(d.conv, toStored(d));
    return out;
  }

  async function readPositions(clientId: string, convs: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>(convs.map((c) => [c, 0]));
    if (convs.length === 0) return out;
    const docs = await Conversation.find({ clientId, conv: { $in: [...convs] } }, { _id: 0, conv: 1, read: 1 }).lean<ConversationDoc[]>();
    for (const d of docs) out.set(d.conv, d.read ?? 0);
    return out;
  }

  async function p2pPage(clientId: string, n: number, before: ConversationCursor | undefined): Promise<ConversationSummary[]> {
    const page = before ? { $or: [{ lastTs: { $lt: before.activity } }, { lastTs: before.activity, conv: { $lt: before.conv } }] } : {};
    const docs = await Conversation.find({ clientId, lastTs: { $exists: true }, ...page })
      .sort({ lastTs: -1, conv: -1 })
      .limit(n)
      .lean<ConversationDoc[]>();
    if (docs.length === 0) return [];
    const [lasts, peers] = await Promise.all([
      messagesAt(docs.map((d) => ({ conv: d.conv, seq: d.lastSeq ?? 0 }))),
      Conversation.find({ $or: docs.map((d) => ({ clientId: d.target, conv: d.conv })) }, { _id: 0, conv: 1, read: 1 }).lean<ConversationDoc[]>(),
    ]);
    const peerRead = new Map(peers.map((p) => [p.conv, p.read ?? 0]));
    return docs.map((d) =>
      summary("p2p", d.conv, d.target, d.lastSeq ?? 0, lasts.get(d.conv) ?? null, d.lastTs ?? 0, d.read ?? 0, peerRead.get(d.conv) ?? 0),
    );
  }

  async function topicEntries(clientId: string, before: ConversationCursor | undefined): Promise<ConversationSummary[]> {
    const topics = (await Member.find({ clientId }, { _id: 0, topic: 1 }).lean()).map((d) => d.topic);
    if (topics.length === 0) return [];
    const [heads, reads, infos] = await Promise.all([
      Counter.find({ _id: { $in: topics.map((t) => `conv:${t}`) } }).lean(),
      Conversation.find({ clientId, conv: { $in: topics } }, { _id: 0, conv: 1, read: 1 }).lean<ConversationDoc[]>(),
      TopicInfo.find({ TopicName: { $in: topics } }, { _id: 0, TopicName: 1, CreatedAt: 1 }).lean(),
    ]);
    const headOf = new Map(heads.map((h) => [h._id.slice("conv:".length), h.seq]));
    const lasts = await messagesAt(topics.flatMap((conv) => (headOf.get(conv) ? [{ conv, seq: headOf.get(conv) ?? 0 }] : [])));
    // A head whose message is not there yet (in flight, or a gap a crash left): take the newest one stored.
    const missing = topics.filter((t) => (headOf.get(t) ?? 0) > 0 && !lasts.has(t));
    await Promise.all(
      missing.map(async (conv) => {
        const d = await Message.findOne({ conv }, MESSAGE_FIELDS).sort({ seq: -1 }).lean<MessageDoc>();
        if (d) lasts.set(conv, toStored(d));
      }),
    );
    const readOf = new Map(reads.map((r) => [r.conv, r.read ?? 0]));
    const createdOf = new Map(infos.map((i) => [i.TopicName, i.CreatedAt ?? 0]));
    const out: ConversationSummary[] = [];
    for (const t of topics) {
      const last = lasts.get(t) ?? null;
      const activity = last?.ts ?? createdOf.get(t) ?? 0;
      if (isAfter({ activity, conv: t }, before)) out.push(summary("topic", t, t, headOf.get(t) ?? 0, last, activity, readOf.get(t) ?? 0, null));
    }
    return out;
  }

  return {
    async touchP2P(msg) {
      const { conv, seq, ts } = msg;
      const lastSeq = { $ifNull: ["$lastSeq", 0] };
      const op = (clientId: string, target: string, own: boolean): mongo.AnyBulkWriteOperation<ConversationDoc> => ({
        updateOne: {
          filter: { clientId, conv },
          // A pipeline, so lastTs can follow lastSeq only when this message is newer. Every $set
          // expression sees the document as it was before the update. Strings go in as $literal:
          // a value starting with "$" would otherwise be read as a field path.
          update: [
            {
              $set: {
                kind: "p2p",
                target: { $literal: target },
                lastTs: { $cond: [{ $gt: [seq, lastSeq] }, ts, "$lastTs"] },
                lastSeq: { $max: [lastSeq, seq] },
                ...(own ? { read: { $max: [{ $ifNull: ["$read", 0] }, seq] } } : {}),
              },
            },
          ],
          upsert: true,
        },
      });
      const ops = msg.from === msg.to ? [op(msg.from, msg.to, true)] : [op(msg.from, msg.to, true), op(msg.to, msg.from, false)];
      await retryOnceOnDuplicate(() => conversations.bulkWrite(ops, { ordered: false }));
    },

    async markOwnRead(clientId, conv, seq) {
      await retryOnceOnDuplicate(() =>
        Conversation.updateOne({ clientId, conv }, { $max: { read: seq }, $set: { kind: "topic", target: conv } }, { upsert: true }),
      );
    },

    async readFromHead(clientId, topic) {
      const h = await head(topic);
      if (h === 0) return;
      await retryOnceOnDuplicate(() =>
        Conversation.updateOne({ clientId, conv: topic }, { $max: { read: h }, $set: { kind: "topic", target: topic } }, { upsert: true }),
      );
    },

    async setReadPosition(clientId, conv, seq) {
      const { kind, target } = convTarget(clientId, conv);
      const next = Math.min(readSeqArg(seq), await head(conv));
      if (next <= 0) return { read: (await readPositions(clientId, [conv])).get(conv) ?? 0, changed: false };
      let old = 0;
      await retryOnceOnDuplicate(async () => {
        const prev = await Conversation.findOneAndUpdate(
          { clientId, conv },
          { $max: { read: next }, $set: { kind, target } },
          { upsert: true, returnDocument: "before", lean: true },
        );
        old = prev?.read ?? 0;
      });
      return { read: Math.max(old, next), changed: next > old };
    },

    readPositions,

    async conversations(clientId, limit, before) {
      checkCursor(before);
      const n = positiveLimit(limit);
      if (n === 0) return [];
      const [p2p, topics] = await Promise.all([p2pPage(clientId, n, before), topicEntries(clientId, before)]);
      return mergePage(p2p, topics, n);
    },
  };
}
