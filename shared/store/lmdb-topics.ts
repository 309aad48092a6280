/**
 * Topics, membership, topic messages and cursors for the LMDB adapter (see lmdb-layout.ts).
 * Every write is one env.transaction() callback: the callback decides from committed state and
 * either writes everything or nothing, then reports failures as values so the error is thrown
 * outside the transaction (an exception inside a shared lmdb-js batch would not undo earlier puts).
 */
import { CommandError, ErrorCode } from "../errors.js";
import { markOwnRead, readFromHead } from "./lmdb-conversations.js";
import { assertKeyFits, clampLimit, convRange, findOriginal, MAX_POS, nextSeq, putMessage, secondPartsAfter, type LmdbDbs, type TopicValue } from "./lmdb-layout.js";
import { MAX_TOPIC_ADMINS, type AppendTopicResult, type CursorUpdate, type NewTopicMessage, type Store, type StoredMessage, type TopicRecord } from "./store.js";

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
  | "appendTopic"
  | "topicRange"
  | "topicHeads"
  | "getCursor"
  | "setCursors"
>;

const NO_SUCH_TOPIC = Symbol("no such topic");
const TOO_MANY = Symbol("too many topics");
const FULL = Symbol("topic full");

/** A stored topic value as a record; old values (before owners) read as owned by their creator, public. */
function recordOf(name: string, t: TopicValue): TopicRecord {
  return { name, creator: t.creator, createdAt: t.createdAt, memberCount: t.memberCount, owner: t.owner ?? t.creator, policy: t.policy ?? "public", admins: [...(t.admins ?? [])] };
}

/** How many topics `owner` owns, counting no further than `upTo`. */
function ownedCount(dbs: LmdbDbs, owner: string, upTo: number): number {
  let n = 0;
  for (const { key } of dbs.owned.getRange({ start: [owner, ""] })) {
    if (key[0] !== owner || n >= upTo) break;
    n++;
  }
  return n;
}

function noSuchTopic(name: string): CommandError {
  return new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `topic "${name}" does not exist`);
}

export function lmdbTopicOps(dbs: LmdbDbs): TopicOps {
  const { env } = dbs;

  function readTopic(name: string): TopicRecord | null {
    const t = dbs.topics.get(name);
    return t ? recordOf(name, t) : null;
  }

  return {
    async createTopic(name, creator, ts, opts = {}) {
      assertKeyFits(name, creator);
      const policy = opts.policy ?? "public";
      const created = await env.transaction(() => {
        if (dbs.topics.get(name) !== undefined) return false;
        if (opts.maxOwned !== undefined && ownedCount(dbs, creator, opts.maxOwned) >= opts.maxOwned) return TOO_MANY;
        dbs.topics.putSync(name, { creator, createdAt: ts, memberCount: 1, owner: creator, policy, admins: [] });
        dbs.members.putSync([name, creator], 1);
        dbs.memberOf.putSync([creator, name], 1);
        dbs.owned.putSync([creator, name], 1);
        return true;
      });
      if (created === TOO_MANY) throw new CommandError(ErrorCode.IM_ERR_TOO_MANY_TOPICS, `you already own ${opts.maxOwned} topics`);
      if (!created) throw new CommandError(ErrorCode.IM_ERR_TOPIC_EXISTS, `topic "${name}" already exists`);
      return { name, creator, createdAt: ts, memberCount: 1, owner: creator, policy, admins: [] };
    },

    async updateTopic(name, change) {
      if (change.owner !== undefined) assertKeyFits(name, change.owner);
      const res = await env.transaction(() => {
        const t = dbs.topics.get(name);
        if (t === undefined) return NO_SUCH_TOPIC;
        const owner = t.owner ?? t.creator;
        const next: TopicValue = { ...t, owner, policy: change.policy ?? t.policy ?? "public", admins: change.admins ? [...new Set(change.admins)].slice(0, MAX_TOPIC_ADMINS) : (t.admins ?? []) };
        if (change.owner !== undefined && change.owner !== owner) {
          dbs.owned.removeSync([owner, name]);
          dbs.owned.putSync([change.owner, name], 1);
          next.owner = change.owner;
        }
        dbs.topics.putSync(name, next);
        return recordOf(name, next);
      });
      if (res === NO_SUCH_TOPIC) throw noSuchTopic(name);
      return res;
    },

    async deleteTopic(name) {
      return env.transaction(() => {
        const t = dbs.topics.get(name);
        if (t === undefined) return false;
        for (const { key } of dbs.members.getRange({ start: [name, ""] })) {
          if (key[0] !== name) break;
          dbs.members.removeSync(key);
          dbs.memberOf.removeSync([key[1], name]);
        }
        for (const { key } of dbs.invites.getRange({ start: [name, ""] })) {
          if (key[0] !== name) break;
          dbs.invites.removeSync(key);
        }
        for (const { key } of dbs.msgs.getRange({ start: [name, 0], end: [name, MAX_POS] })) dbs.msgs.removeSync(key);
        dbs.owned.removeSync([t.owner ?? t.creator, name]);
        // The seq counter stays: a topic created again under this name continues its seqs, never reuses one.
        dbs.topics.removeSync(name);
        return true;
      });
    },

    async invite(topic, clientId) {
      assertKeyFits(topic, clientId);
      const res = await env.transaction(() => {
        if (dbs.topics.get(topic) === undefined) return NO_SUCH_TOPIC;
        if (dbs.members.get([topic, clientId]) !== undefined || dbs.invites.get([topic, clientId]) !== undefined) return false;
        dbs.invites.putSync([topic, clientId], Date.now());
        return true;
      });
      if (res === NO_SUCH_TOPIC) throw noSuchTopic(topic);
      return res;
    },

    async isInvited(topic, clientId) {
      return dbs.invites.get([topic, clientId]) !== undefined;
    },

    async getTopic(name) {
      return readTopic(name);
    },

    async listTopics(after, limit) {
      const n = clampLimit(limit);
      const out: TopicRecord[] = [];
      if (n === 0) return out;
      for (const { key, value } of dbs.topics.getRange({ start: after })) {
        if (out.length >= n) break;
        if (key !== after) out.push(recordOf(key, value));
      }
      return out;
    },

    async addMember(topic, clientId, opts = {}) {
      assertKeyFits(topic, clientId);
      const added = await env.transaction(() => {
        const t = dbs.topics.get(topic);
        if (t === undefined) return NO_SUCH_TOPIC;
        if (dbs.members.get([topic, clientId]) !== undefined) return false;
        if (opts.maxMembers !== undefined && t.memberCount >= opts.maxMembers) return FULL;
        dbs.invites.removeSync([topic, clientId]);
        dbs.members.putSync([topic, clientId], 1);
        dbs.memberOf.putSync([clientId, topic], 1);
        dbs.topics.putSync(topic, { ...t, memberCount: t.memberCount + 1 });
        readFromHead(dbs, clientId, topic);
        return true;
      });
      if (added === NO_SUCH_TOPIC) throw noSuchTopic(topic);
      if (added === FULL) throw new CommandError(ErrorCode.IM_ERR_TOPIC_FULL, `topic "${topic}" has ${opts.maxMembers} members already`);
      return added;
    },

    async removeMember(topic, clientId) {
      return env.transaction(() => {
        if (!dbs.members.removeSync([topic, clientId])) return false;
        dbs.memberOf.removeSync([clientId, topic]);
        const t = dbs.topics.get(topic);
        if (t) dbs.topics.putSync(topic, { ...t, memberCount: Math.max(0, t.memberCount - 1) });
        return true;
      });
    },

    async isMember(topic, clientId) {
      return dbs.members.get([topic, clientId]) !== undefined;
    },

    async members(topic, after, limit) {
      return secondPartsAfter(dbs.members, topic, after, limit);
    },

    async topicsOf(clientId) {
      return secondPartsAfter(dbs.memberOf, clientId, "", Number.MAX_SAFE_INTEGER);
    },

    async appendTopic(m: NewTopicMessage): Promise<AppendTopicResult> {
      assertKeyFits(m.from, m.topic);
      if (m.cmid !== undefined) assertKeyFits(m.from, m.cmid);
      const res = await env.transaction((): AppendTopicResult | typeof NO_SUCH_TOPIC => {
        // A retry must succeed even if the topic changed since, so look for the original first.
        const found = findOriginal(dbs, m.from, m.cmid);
        if (found) return { msg: found.msg, duplicate: true };
        if (dbs.topics.get(m.topic) === undefined) return NO_SUCH_TOPIC;
        const msg: StoredMessage = {
          uuid: m.uuid,
          kind: "topic",
          conv: m.topic,
          seq: nextSeq(dbs, m.topic),
          from: m.from,
          to: m.topic,
          body: m.body,
          ts: m.ts,
        };
        if (m.cmid !== undefined) msg.cmid = m.cmid;
        putMessage(dbs, msg, [msg.conv, msg.seq]);
        markOwnRead(dbs, m.from, m.topic, msg.seq);
        return { msg, duplicate: false };
      });
      if (res === NO_SUCH_TOPIC) throw noSuchTopic(m.topic);
      return res;
    },

    async topicRange(topic, afterSeq, limit): Promise<StoredMessage[]> {
      return convRange(dbs, topic, afterSeq, limit);
    },

    async topicHeads(topics) {
      const heads = new Map<string, number>();
      for (const t of topics) heads.set(t, dbs.seqs.get(t) ?? 0);
      return heads;
    },

    async getCursor(clientId, topic) {
      return dbs.cursors.get([clientId, topic]) ?? 0;
    },

    async setCursors(updates: readonly CursorUpdate[]) {
      if (updates.length === 0) return;
      for (const u of updates) assertKeyFits(u.clientId, u.topic);
      await env.transaction(() => {
        for (const u of updates) {
          const cur = dbs.cursors.get([u.clientId, u.topic]) ?? 0;
          if (u.seq > cur) dbs.cursors.putSync([u.clientId, u.topic], u.seq);
        }
      });
    },
  };
}
