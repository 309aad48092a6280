/**
 * Messages, inboxes and sequences for the MongoDB adapter (collections: mongo-models.ts).
 *
 * Multi-document atomicity without transactions (so a standalone server works too): a write first
 * takes its numbers from the `counters` collection with an atomic $inc, then does one insert that
 * unique indexes make idempotent. A crash or error between the two leaves a gap in seq or ipos,
 * never a duplicate and never a regression, because numbers come only from counters, never from
 * max(seq) of the stored messages. A message and its inbox entry are one document, so no crash can
 * split them.
 *
 * What a crash can leak: an inbox reservation (`pending` incremented, insert never done) or an ack
 * whose `pending` decrement never ran. Both overcount `pending` by one, which only makes the inbox
 * limit stricter; `pending` can be recomputed as the number of messages with `inboxOf` = recipient.
 */
import { CommandError, ErrorCode } from "../errors.js";
import type { ConversationHooks } from "./mongo-conversations.js";
import { isDuplicateKey, type MessageDoc, type MongoModels } from "./mongo-models.js";
import { p2pConversation } from "../protocol/conversation.js";
import { KeyedSerial } from "../serial.js";
import type { NewP2PMessage, NewTopicMessage, Store, StoreLimits, StoredMessage } from "./store.js";

export type MessageOps = Pick<
  Store,
  "appendP2P" | "inboxRange" | "inboxHeads" | "inboxPending" | "ackInbox" | "appendTopic" | "topicRange" | "topicHeads" | "history"
>;

/** Attempts at an upsert that lost a first-insert race to another process before giving up. */
const UPSERT_ATTEMPTS = 5;

/** Never hand out `_id` or the inbox marker: StoredMessage is the whole public shape. */
const MESSAGE_FIELDS = { _id: 0, inboxOf: 0 } as const;

/** A fresh StoredMessage from a document: callers get copies, never driver objects. */
function toStored(d: MessageDoc): StoredMessage {
  const m: StoredMessage = { uuid: d.uuid, kind: d.kind, conv: d.conv, seq: d.seq, from: d.from, to: d.to, body: d.body, ts: d.ts };
  if (d.cmid !== undefined && d.cmid !== null) m.cmid = d.cmid;
  return m;
}

/** MongoDB reads limit(0) as "no limit"; the Store contract reads it as "nothing". */
function positiveLimit(limit: number): number {
  return Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
}

export function mongoMessageOps({ Message, Counter, TopicInfo }: MongoModels, limits: StoreLimits, hooks: ConversationHooks): MessageOps {
  // Calls for one conversation run one at a time, in call order, so a sender's pipelined messages
  // get seqs in the order it sent them. LMDB gives this by queueing transactions in call order;
  // here concurrent findOneAndUpdate calls on different pool connections could swap them.
  const perConv = new KeyedSerial();

  /** The earlier message with this uuid or this (from, cmid), if any. */
  function findOriginal(uuid: string, from: string, cmid: string | undefined): Promise<MessageDoc | null> {
    const filter = cmid === undefined ? { uuid } : { $or: [{ uuid }, { from, cmid }] };
    return Message.findOne(filter, MESSAGE_FIELDS).lean<MessageDoc>().exec();
  }

  async function nextSeq(conv: string): Promise<number> {
    const doc = await Counter.findOneAndUpdate({ _id: `conv:${conv}` }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: "after", lean: true });
    if (!doc) throw new Error(`counter conv:${conv} missing after upsert`);
    return doc.seq;
  }

  function inboxFull(recipient: string): CommandError {
    return new CommandError(ErrorCode.IM_ERR_INBOX_FULL, `inbox of "${recipient}" already holds ${limits.inboxMaxPending} unacknowledged messages`);
  }

  /**
   * Reserve the recipient's next inbox position: one atomic $inc of seq and pending, filtered on
   * pending < max. When the filter does not match an existing counter the upsert tries to insert
   * a second document with the same _id and gets a duplicate-key error: that means "full", unless
   * the document did not exist yet and another process created it first, in which case retry.
   */
  async function reserveInbox(recipient: string): Promise<number> {
    const _id = `inbox:${recipient}`;
    for (let attempt = 0; attempt < UPSERT_ATTEMPTS; attempt++) {
      try {
        const doc = await Counter.findOneAndUpdate(
          { _id, pending: { $lt: limits.inboxMaxPending } },
          { $inc: { seq: 1, pending: 1 } },
          { upsert: true, returnDocument: "after", lean: true },
        );
        if (doc) return doc.seq;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const cur = await Counter.findById(_id).lean();
        if (cur && (cur.pending ?? 0) >= limits.inboxMaxPending) throw inboxFull(recipient);
      }
    }
    throw new Error(`could not reserve an inbox position for "${recipient}" after ${UPSERT_ATTEMPTS} attempts`);
  }

  async function releaseInbox(recipient: string): Promise<void> {
    await Counter.updateOne({ _id: `inbox:${recipient}`, pending: { $gt: 0 } }, { $inc: { pending: -1 } });
  }

  async function heads(prefix: string, keys: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>(keys.map((k) => [k, 0]));
    if (keys.length === 0) return out;
    const docs = await Counter.find({ _id: { $in: keys.map((k) => prefix + k) } }).lean();
    for (const d of docs) out.set(d._id.slice(prefix.length), d.seq);
    return out;
  }

  async function convRange(conv: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    const n = positiveLimit(limit);
    if (n === 0) return [];
    const docs = await Message.find({ conv, seq: { $gt: afterSeq } }, MESSAGE_FIELDS).sort({ seq: 1 }).limit(n).lean<MessageDoc[]>();
    return docs.map(toStored);
  }

  async function appendP2P(m: NewP2PMessage) {
    // A retry repeats the conversation summary update too: the first attempt may have stored the
    // message and failed before it.
    const dup = async (d: MessageDoc) => {
      const msg = toStored(d);
      await hooks.touchP2P(msg);
      return { msg, ipos: d.ipos ?? 0, duplicate: true };
    };
    const orig = await findOriginal(m.uuid, m.from, m.cmid);
    if (orig) return dup(orig);
    const ipos = await reserveInbox(m.to);
    const conv = p2pConversation(m.from, m.to);
    const seq = await nextSeq(conv);
    const doc: MessageDoc = { uuid: m.uuid, kind: "p2p", conv, seq, from: m.from, to: m.to, body: m.body, ts: m.ts };
    if (m.cmid !== undefined) doc.cmid = m.cmid;
    try {
      // The driver adds _id to the object it inserts, hence the copy.
      await Message.collection.insertOne({ ...doc, ipos, inboxOf: m.to });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // A concurrent send with the same uuid or (from, cmid) won: give back our reservation.
      await releaseInbox(m.to);
      const winner = await findOriginal(m.uuid, m.from, m.cmid);
      if (!winner) throw err;
      return dup(winner);
    }
    const msg = toStored(doc);
    await hooks.touchP2P(msg);
    return { msg, ipos, duplicate: false };
  }

  async function appendTopic(m: NewTopicMessage) {
    const dup = async (d: MessageDoc) => {
      await hooks.markOwnRead(d.from, d.conv, d.seq);
      return { msg: toStored(d), duplicate: true };
    };
    const orig = await findOriginal(m.uuid, m.from, m.cmid);
    if (orig) return dup(orig);
    if (!(await TopicInfo.exists({ TopicName: m.topic }))) {
      throw new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `topic "${m.topic}" does not exist`);
    }
    const seq = await nextSeq(m.topic);
    const doc: MessageDoc = { uuid: m.uuid, kind: "topic", conv: m.topic, seq, from: m.from, to: m.topic, body: m.body, ts: m.ts };
    if (m.cmid !== undefined) doc.cmid = m.cmid;
    try {
      await Message.collection.insertOne({ ...doc });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const winner = await findOriginal(m.uuid, m.from, m.cmid);
      if (!winner) throw err;
      return dup(winner);
    }
    await hooks.markOwnRead(m.from, m.topic, seq);
    return { msg: toStored(doc), duplicate: false };
  }

  return {
    appendP2P: (m) => perConv.run(p2pConversation(m.from, m.to), () => appendP2P(m)),

    async inboxRange(recipient, afterIpos, limit) {
      const n = positiveLimit(limit);
      if (n === 0) return [];
      const docs = await Message.find({ inboxOf: recipient, ipos: { $gt: afterIpos } }, MESSAGE_FIELDS)
        .sort({ ipos: 1 })
        .limit(n)
        .lean<MessageDoc[]>();
      return docs.map((d) => ({ recipient, ipos: d.ipos ?? 0, msg: toStored(d) }));
    },

    inboxHeads: (recipients) => heads("inbox:", recipients),

    async inboxPending(recipient) {
      const doc = await Counter.findById(`inbox:${recipient}`).lean();
      return doc?.pending ?? 0;
    },

    async ackInbox(recipient, uuid, ipos) {
      // With the position the unique (inboxOf, ipos) index finds the document; uuid still has to match.
      const filter = ipos === undefined ? { uuid, inboxOf: recipient } : { inboxOf: recipient, ipos, uuid };
      const res = await Message.updateOne(filter, { $unset: { inboxOf: 1 } });
      // Only the call that actually removed the entry gives back its pending slot.
      if (res.modifiedCount !== 1) return false;
      await releaseInbox(recipient);
      return true;
    },

    appendTopic: (m) => perConv.run(m.topic, () => appendTopic(m)),
    topicRange: convRange,
    topicHeads: (topics) => heads("conv:", topics),
    history: convRange,
  };
}
