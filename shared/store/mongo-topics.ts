/**
 * Topics, membership, cursors and client records for the MongoDB adapter (collections:
 * mongo-models.ts). Each method is one atomic single-document operation guarded by a unique
 * index, except createTopic (topic, then its creator's membership: a crash in between leaves a
 * topic without members, which the creator can join again).
 */
import { CommandError, ErrorCode } from "../errors.js";
import type { ConversationHooks } from "./mongo-conversations.js";
import { isDuplicateKey, type MongoModels } from "./mongo-models.js";
import type { Store, TopicRecord } from "./store.js";

export type TopicOps = Pick<
  Store,
  | "createTopic"
  | "getTopic"
  | "listTopics"
  | "addMember"
  | "removeMember"
  | "isMember"
  | "members"
  | "topicsOf"
  | "getCursor"
  | "setCursors"
  | "upsertClient"
  | "getClient"
>;

function positiveLimit(limit: number): number {
  return Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
}

export function mongoTopicOps({ TopicInfo, Member, Cursor, ClientInfo }: MongoModels, hooks: ConversationHooks): TopicOps {
  /** Member counts come from topic_members itself, so they cannot drift from the membership. */
  async function topicRecords(docs: readonly { TopicName: string; CreaterID: string; CreatedAt?: number }[]): Promise<TopicRecord[]> {
    if (docs.length === 0) return [];
    const rows = await Member.aggregate<{ _id: string; n: number }>([
      { $match: { topic: { $in: docs.map((d) => d.TopicName) } } },
      { $group: { _id: "$topic", n: { $sum: 1 } } },
    ]);
    const counts = new Map(rows.map((r) => [r._id, r.n]));
    // v1 documents have no CreatedAt.
    return docs.map((d) => ({ name: d.TopicName, creator: d.CreaterID, createdAt: d.CreatedAt ?? 0, memberCount: counts.get(d.TopicName) ?? 0 }));
  }

  return {
    async createTopic(name, creator, ts) {
      try {
        await TopicInfo.collection.insertOne({ TopicName: name, CreaterID: creator, CreatedAt: ts, MsgServerAddr: "" });
      } catch (err) {
        if (isDuplicateKey(err)) throw new CommandError(ErrorCode.IM_ERR_TOPIC_EXISTS, `topic "${name}" already exists`);
        throw err;
      }
      await Member.updateOne({ topic: name, clientId: creator }, { $setOnInsert: { joinedAt: ts } }, { upsert: true });
      return { name, creator, createdAt: ts, memberCount: 1 };
    },

    async getTopic(name) {
      const doc = await TopicInfo.findOne({ TopicName: name }).lean();
      return doc ? ((await topicRecords([doc]))[0] ?? null) : null;
    },

    async listTopics(after, limit) {
      const n = positiveLimit(limit);
      if (n === 0) return [];
      return topicRecords(await TopicInfo.find({ TopicName: { $gt: after } }).sort({ TopicName: 1 }).limit(n).lean());
    },

    async addMember(topic, clientId) {
      if (!(await TopicInfo.exists({ TopicName: topic }))) {
        throw new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `topic "${topic}" does not exist`);
      }
      try {
        const res = await Member.updateOne({ topic, clientId }, { $setOnInsert: { joinedAt: Date.now() } }, { upsert: true });
        if (res.upsertedCount !== 1) return false;
        await hooks.readFromHead(clientId, topic);
        return true;
      } catch (err) {
        // Two concurrent first joins: the unique index let one in; the other is "already a member".
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    },

    async removeMember(topic, clientId) {
      return (await Member.deleteOne({ topic, clientId })).deletedCount === 1;
    },

    async isMember(topic, clientId) {
      return (await Member.exists({ topic, clientId })) !== null;
    },

    async members(topic, after, limit) {
      const n = positiveLimit(limit);
      if (n === 0) return [];
      const docs = await Member.find({ topic, clientId: { $gt: after } }).sort({ clientId: 1 }).limit(n).lean();
      return docs.map((d) => d.clientId);
    },

    async topicsOf(clientId) {
      return (await Member.find({ clientId }).sort({ topic: 1 }).lean()).map((d) => d.topic);
    },

    async getCursor(clientId, topic) {
      return (await Cursor.findOne({ clientId, topic }).lean())?.seq ?? 0;
    },

    async setCursors(updates) {
      if (updates.length === 0) return;
      const ops = updates.map((u) => ({
        updateOne: { filter: { clientId: u.clientId, topic: u.topic }, update: { $max: { seq: u.seq } }, upsert: true },
      }));
      try {
        await Cursor.bulkWrite(ops, { ordered: false });
      } catch (err) {
        // A first-insert race with another process: the documents exist now, so $max applies.
        if (!isDuplicateKey(err)) throw err;
        await Cursor.bulkWrite(ops, { ordered: false });
      }
    },

    async upsertClient(rec) {
      try {
        await ClientInfo.updateOne(
          { ClientID: rec.clientId, $or: [{ LastSeen: { $lte: rec.lastSeenMs } }, { LastSeen: { $exists: false } }] },
          { $set: { ClientID: rec.clientId, ClientAddr: rec.clientAddr, MsgServerAddr: rec.msgServerAddr, Alive: rec.alive, LastSeen: rec.lastSeenMs } },
          { upsert: true },
        );
      } catch (err) {
        // The filter missed because a newer record exists, so the upsert hit the unique ClientID:
        // exactly the "older update is ignored" case.
        if (!isDuplicateKey(err)) throw err;
      }
    },

    async getClient(clientId) {
      const d = await ClientInfo.findOne({ ClientID: clientId }).lean();
      return d && { clientId: d.ClientID, clientAddr: d.ClientAddr, msgServerAddr: d.MsgServerAddr, alive: d.Alive, lastSeenMs: d.LastSeen ?? 0 };
    },
  };
}
