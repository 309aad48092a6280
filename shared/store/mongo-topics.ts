/**
 * Topics, membership, cursors and client records for the MongoDB adapter (collections:
 * mongo-models.ts). Each method is one atomic single-document operation guarded by a unique
 * index, except createTopic (topic, then its creator's membership: a crash in between leaves a
 * topic without members, which the creator can join again).
 */
import { CommandError, ErrorCode } from "../errors.js";
import type { ConversationHooks } from "./mongo-conversations.js";
import { isDuplicateKey, type MongoModels, type TopicInfoDoc } from "./mongo-models.js";
import { MAX_TOPIC_ADMINS, type Store, type TopicRecord } from "./store.js";

export type TopicOps = Pick<
  Store,
  | "createTopic"
  | "updateTopic"
  | "deleteTopic"
  | "invite"
  | "isInvited"
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

export function mongoTopicOps({ TopicInfo, Member, Invite, Cursor, ClientInfo, Message }: MongoModels, hooks: ConversationHooks): TopicOps {
  const noSuchTopic = (name: string) => new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `topic "${name}" does not exist`);

  /** Member counts come from topic_members itself, so they cannot drift from the membership. */
  async function topicRecords(docs: readonly TopicInfoDoc[]): Promise<TopicRecord[]> {
    if (docs.length === 0) return [];
    const rows = await Member.aggregate<{ _id: string; n: number }>([
      { $match: { topic: { $in: docs.map((d) => d.TopicName) } } },
      { $group: { _id: "$topic", n: { $sum: 1 } } },
    ]);
    const counts = new Map(rows.map((r) => [r._id, r.n]));
    // v1 documents have no CreatedAt.
    return docs.map((d) => ({
      name: d.TopicName,
      creator: d.CreaterID,
      createdAt: d.CreatedAt ?? 0,
      memberCount: counts.get(d.TopicName) ?? 0,
      owner: d.Owner ?? d.CreaterID,
      policy: d.Policy ?? "public",
      admins: [...(d.Admins ?? [])],
    }));
  }

  return {
    async createTopic(name, creator, ts, opts = {}) {
      const policy = opts.policy ?? "public";
      // Best effort across processes: two creations by one owner at the same instant may both pass
      // the count (MongoDB has no cheap cross-document check); the bound is a quota, not an invariant.
      if (opts.maxOwned !== undefined && (await TopicInfo.countDocuments({ Owner: creator }).limit(opts.maxOwned)) >= opts.maxOwned) {
        throw new CommandError(ErrorCode.IM_ERR_TOO_MANY_TOPICS, `you already own ${opts.maxOwned} topics`);
      }
      try {
        await TopicInfo.collection.insertOne({ TopicName: name, CreaterID: creator, CreatedAt: ts, MsgServerAddr: "", Owner: creator, Policy: policy, Admins: [] });
      } catch (err) {
        if (isDuplicateKey(err)) throw new CommandError(ErrorCode.IM_ERR_TOPIC_EXISTS, `topic "${name}" already exists`);
        throw err;
      }
      await Member.updateOne({ topic: name, clientId: creator }, { $setOnInsert: { joinedAt: ts } }, { upsert: true });
      return { name, creator, createdAt: ts, memberCount: 1, owner: creator, policy, admins: [] };
    },

    async updateTopic(name, change) {
      const set: Partial<TopicInfoDoc> = {};
      if (change.owner !== undefined) set.Owner = change.owner;
      if (change.policy !== undefined) set.Policy = change.policy;
      if (change.admins !== undefined) set.Admins = [...new Set(change.admins)].slice(0, MAX_TOPIC_ADMINS);
      const doc = await TopicInfo.findOneAndUpdate({ TopicName: name }, { $set: set }, { new: true }).lean();
      if (!doc) throw noSuchTopic(name);
      return (await topicRecords([doc]))[0]!;
    },

    async deleteTopic(name) {
      const res = await TopicInfo.deleteOne({ TopicName: name });
      if (res.deletedCount !== 1) return false;
      // The record goes first: nobody can join or post while the rest is removed. The seq counter stays.
      await Promise.all([Member.deleteMany({ topic: name }), Invite.deleteMany({ topic: name }), Message.deleteMany({ conv: name })]);
      return true;
    },

    async invite(topic, clientId) {
      if (!(await TopicInfo.exists({ TopicName: topic }))) throw noSuchTopic(topic);
      if (await Member.exists({ topic, clientId })) return false;
      try {
        const res = await Invite.updateOne({ topic, clientId }, { $setOnInsert: { invitedAt: Date.now() } }, { upsert: true });
        return res.upsertedCount === 1;
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    },

    async isInvited(topic, clientId) {
      return (await Invite.exists({ topic, clientId })) !== null;
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

    async addMember(topic, clientId, opts = {}) {
      if (!(await TopicInfo.exists({ TopicName: topic }))) throw noSuchTopic(topic);
      if (opts.maxMembers !== undefined && !(await Member.exists({ topic, clientId }))) {
        // A quota, checked before the insert (as maxOwned): concurrent joins may pass it by a few.
        if ((await Member.countDocuments({ topic }).limit(opts.maxMembers)) >= opts.maxMembers) {
          throw new CommandError(ErrorCode.IM_ERR_TOPIC_FULL, `topic "${topic}" has ${opts.maxMembers} members already`);
        }
      }
      try {
        const res = await Member.updateOne({ topic, clientId }, { $setOnInsert: { joinedAt: Date.now() } }, { upsert: true });
        if (res.upsertedCount !== 1) return false;
        await Invite.deleteOne({ topic, clientId });
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
