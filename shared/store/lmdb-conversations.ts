/**
 * Read positions and the conversation list for the LMDB adapter (rules: conversations.ts,
 * layout: lmdb-layout.ts `p2pHeads`, `reads` and `recent`).
 *
 * Cost on the hot path. appendP2P: its seq counter became the `p2pHeads` record, which also
 * holds the last message's ts and each side's last own seq, so it costs no extra read; then two
 * removes and two puts move the participants' `recent` entries (none when the previous message
 * has the same ts). The sender's read position is implicit: max(explicit READ, last own seq).
 * appendTopic: one put, the sender's read position. Nothing is written per topic member.
 */
import { MAX_POS, assertKeyFits, clampLimit, type LmdbDbs, type P2PHead } from "./lmdb-layout.js";
import {
  checkCursor,
  convTarget,
  isAfter,
  mergePage,
  p2pParticipants,
  readSeqArg,
  summary,
  type ConversationCursor,
  type ConversationSummary,
} from "./conversations.js";
import type { Store, StoredMessage } from "./store.js";

export type ConversationOps = Pick<Store, "setReadPosition" | "readPositions" | "conversations">;

/** No previous message, or one from before p2pHeads: no `recent` key to move. Never a message's ts. */
const NO_TS = Number.NEGATIVE_INFINITY;

/** A p2p conversation's head; a store from before p2pHeads kept only its seq in `seqs`. */
function p2pHead(dbs: LmdbDbs, conv: string): P2PHead {
  return dbs.p2pHeads.get(conv) ?? [dbs.seqs.get(conv) ?? 0, NO_TS, 0, 0];
}

/** The client's last own seq in a p2p conversation: its implicit read position. */
function ownSeq(head: P2PHead, conv: string, clientId: string): number {
  const pair = p2pParticipants(conv);
  if (pair === null) return 0;
  return Math.max(pair[0] === clientId ? head[2] : 0, pair[1] === clientId ? head[3] : 0);
}

/** A client's read position: what it READ, or its own last message, whichever is later. */
function readOf(dbs: LmdbDbs, clientId: string, conv: string, head: P2PHead | null): number {
  const explicit = dbs.reads.get([clientId, conv]) ?? 0;
  return head === null ? explicit : Math.max(explicit, ownSeq(head, conv, clientId));
}

/**
 * Inside appendP2P's transaction: allocate the next seq of a p2p conversation and record the
 * message (ts, sender's own seq) in its head. Returns the seq and the previous message's ts.
 */
export function nextP2PSeq(dbs: LmdbDbs, conv: string, from: string, ts: number): { seq: number; prevTs: number } {
  const [prev, prevTs, first, second] = p2pHead(dbs, conv);
  const seq = prev + 1;
  const pair = p2pParticipants(conv);
  dbs.p2pHeads.putSync(conv, [seq, ts, pair?.[0] === from ? seq : first, pair?.[1] === from ? seq : second]);
  return { seq, prevTs };
}

/** Inside appendP2P's transaction, after the message is put: move both participants' `recent` entries to it. */
export function touchRecent(dbs: LmdbDbs, msg: StoredMessage, prevTs: number): void {
  if (prevTs === msg.ts) return; // same key: nothing moves
  const self = msg.to === msg.from;
  if (prevTs !== NO_TS) {
    dbs.recent.removeSync([msg.from, prevTs, msg.conv]);
    if (!self) dbs.recent.removeSync([msg.to, prevTs, msg.conv]);
  }
  dbs.recent.putSync([msg.from, msg.ts, msg.conv], 1);
  if (!self) dbs.recent.putSync([msg.to, msg.ts, msg.conv], 1);
}

/** Inside appendTopic's transaction: the sender has read the topic up to its own message. */
export function markOwnRead(dbs: LmdbDbs, clientId: string, conv: string, seq: number): void {
  dbs.reads.putSync([clientId, conv], seq);
}

/** Inside addMember's transaction: a new member starts with the history before it read. */
export function readFromHead(dbs: LmdbDbs, clientId: string, topic: string): void {
  const head = dbs.seqs.get(topic) ?? 0;
  if (head > (dbs.reads.get([clientId, topic]) ?? 0)) dbs.reads.putSync([clientId, topic], head);
}

export function lmdbConversationOps(dbs: LmdbDbs): ConversationOps {
  const { env } = dbs;

  function lastOf(conv: string, head: number): StoredMessage | null {
    return head > 0 ? (dbs.msgs.get([conv, head]) ?? null) : null;
  }

  /** The client's p2p conversations after the cursor, in list order, at most n. */
  function p2pPage(clientId: string, n: number, before: ConversationCursor | undefined): ConversationSummary[] {
    const out: ConversationSummary[] = [];
    const start: [string, number, string] | [string, number] = before ? [clientId, before.activity, before.conv] : [clientId, MAX_POS];
    for (const key of dbs.recent.getKeys({ start: start as [string, number, string], reverse: true })) {
      if (key[0] !== clientId || out.length >= n) break;
      const [, activity, conv] = key;
      if (!isAfter({ activity, conv }, before)) continue; // the cursor's own entry
      const head = p2pHead(dbs, conv);
      // Defensive: an entry that is not the head's is stale (it cannot happen while every
      // append moves the entries); the current one is elsewhere in the index.
      if (head[1] !== activity) continue;
      const pair = p2pParticipants(conv);
      const target = pair === null ? conv : pair[0] === clientId ? pair[1] : pair[0];
      const read = readOf(dbs, clientId, conv, head);
      out.push(summary("p2p", conv, target, head[0], lastOf(conv, head[0]), activity, read, readOf(dbs, target, conv, head)));
    }
    return out;
  }

  /** Every topic of the client after the cursor; activity from each topic's head, read per member. */
  function topicEntries(clientId: string, before: ConversationCursor | undefined): ConversationSummary[] {
    const out: ConversationSummary[] = [];
    for (const { key } of dbs.memberOf.getRange({ start: [clientId, ""] })) {
      if (key[0] !== clientId) break;
      const topic = key[1];
      const head = dbs.seqs.get(topic) ?? 0;
      const last = lastOf(topic, head);
      const activity = last?.ts ?? dbs.topics.get(topic)?.createdAt ?? 0;
      if (!isAfter({ activity, conv: topic }, before)) continue;
      out.push(summary("topic", topic, topic, head, last, activity, readOf(dbs, clientId, topic, null), null));
    }
    return out;
  }

  return {
    async setReadPosition(clientId, conv, seq) {
      assertKeyFits(clientId, conv);
      const { kind } = convTarget(clientId, conv);
      const want = readSeqArg(seq);
      return env.transaction(() => {
        const head = kind === "p2p" ? p2pHead(dbs, conv) : null;
        const cur = readOf(dbs, clientId, conv, head);
        const next = Math.min(want, head === null ? (dbs.seqs.get(conv) ?? 0) : head[0]);
        if (next <= cur) return { read: cur, changed: false };
        dbs.reads.putSync([clientId, conv], next);
        return { read: next, changed: true };
      });
    },

    async readPositions(clientId, convs) {
      const out = new Map<string, number>();
      for (const c of convs) out.set(c, readOf(dbs, clientId, c, p2pParticipants(c) === null ? null : p2pHead(dbs, c)));
      return out;
    },

    async conversations(clientId, limit, before) {
      checkCursor(before);
      const n = clampLimit(limit);
      if (n === 0) return [];
      return mergePage(p2pPage(clientId, n, before), topicEntries(clientId, before), n);
    },
  };
}
