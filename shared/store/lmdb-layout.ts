/**
 * The LMDB adapter's on-disk layout: one environment, one named sub-database per kind of record.
 * Keys are arrays in lmdb-js ordered-binary encoding, so [recipient, ipos] and [conv, seq] sort by
 * their first element, then numerically by the second: a range scan reads one inbox or one
 * conversation in order. Values use the default msgpack encoding.
 *
 * Several processes (msg_servers, manager, router) open the same directory. LMDB serialises write
 * transactions across processes with its lock file, and every read-modify-write below runs inside
 * one `env.transaction()` callback, which lmdb-js executes inside the batched write transaction,
 * so a counter read there is the committed value of every process.
 */
import { open, type Database, type RootDatabase } from "lmdb";
import { CommandError, ErrorCode } from "../errors.js";
import type { ClientRecord, StoredMessage } from "./store.js";

/**
 * Where a message lives. A p2p message also records its recipient and inbox position, so a
 * duplicate send can return the original ipos.
 */
export type MsgLoc =
  | [conv: string, seq: number]
  | [conv: string, seq: number, recipient: string, ipos: number];

/** An inbox entry: where its message is, and its uuid. */
export type InboxValue = [conv: string, seq: number, uuid: string];

/**
 * A p2p conversation's counter and summary in one record, rewritten by every append anyway:
 * `prevTs` finds the `recent` keys to move without reading the previous message, and each
 * participant's last own seq is its implicit read position (conversations.ts) without a write
 * per append. "first"/"second" follow the order of the ids in the conversation id.
 */
export type P2PHead = [seq: number, ts: number, lastOfFirst: number, lastOfSecond: number];

/** Per-recipient inbox counters, kept in one record so appendP2P writes one key for both. */
export type InboxMeta = [head: number, pending: number];

export interface TopicValue {
  creator: string;
  createdAt: number;
  memberCount: number;
  /** Absent in records written before topics had owners: the creator, public, no admins. */
  owner?: string;
  policy?: "public" | "private";
  admins?: string[];
}

/** An attachment's record; its bytes are in `chunks`. */
export interface FileValue {
  name: string;
  mime: string;
  size: number;
  owner: string;
  conv: string;
  createdAt: number;
  /** Bytes per chunk when it was written (every chunk but the last is full). */
  chunkBytes: number;
  thumbnailId?: string;
  thumbnailOf?: string;
}

/** An upload in progress: who writes it, so a sweep can tell a dead writer's leftovers. */
export interface UploadValue {
  pid: number;
  startedAt: number;
}

export interface LmdbDbs {
  env: RootDatabase;
  /** [conv, seq] -> message. Never deleted: it is the conversation history. */
  msgs: Database<StoredMessage, [string, number]>;
  /** [from, cmid] -> location of the first message sent with that cmid. */
  dedup: Database<MsgLoc, [string, string]>;
  /**
   * topic name -> highest seq allocated. Also p2p conversations written before `p2pHeads`
   * existed: their next append moves the counter there.
   */
  seqs: Database<number, string>;
  /** p2p conversation id -> its head: highest seq, last message's ts, each participant's last own seq. */
  p2pHeads: Database<P2PHead, string>;
  /** recipient -> [highest ipos allocated, unacknowledged count]. */
  inboxMeta: Database<InboxMeta, string>;
  /**
   * [recipient, ipos] -> [conv, seq, uuid] of the message; deleted on ack. The uuid lets an ack
   * that names the position check it without a uuid index: a [recipient, uuid] index cost three
   * more key encodings per message (one put, one get, one delete), about a tenth of the
   * msg_server's CPU in the p2p benchmark.
   */
  inbox: Database<InboxValue, [string, number]>;
  topics: Database<TopicValue, string>;
  /** [topic, clientId] -> 1, for members() paging. */
  members: Database<1, [string, string]>;
  /** [clientId, topic] -> 1, the reverse index for topicsOf(). */
  memberOf: Database<1, [string, string]>;
  /** [topic, clientId] -> ms of the invitation; consumed by the join. */
  invites: Database<number, [string, string]>;
  /** [owner, topic] -> 1: counts the topics one user owns (maxTopicsPerUser). */
  owned: Database<1, [string, string]>;
  /** [clientId, topic] -> acknowledged seq. */
  cursors: Database<number, [string, string]>;
  clients: Database<ClientRecord, string>;
  /**
   * [clientId, conv] -> read position: explicit READs, the sender's own appends, topic joins.
   * Unread counts are head - read (conversations.ts), so nothing here is written per recipient.
   */
  reads: Database<number, [string, string]>;
  /**
   * [clientId, activity ts, conv] -> 1: the client's p2p conversations by last activity, for
   * conversations() (a reverse range scan). Each append moves the entries of both participants:
   * it removes the keys with the previous message's ts and puts the new ones. Topics are not
   * here: their activity comes from the topic head, so a post costs no write per member.
   */
  recent: Database<1, [string, number, string]>;
  /** attachment id -> its record; written last, in the transaction with its final chunk. */
  files: Database<FileValue, string>;
  /** [attachment id, chunk index] -> raw bytes (binary encoding, no msgpack). */
  chunks: Database<Buffer, [string, number]>;
  /** [conv, createdAt, attachment id] -> 1: attachmentsOf() for retention. */
  convFiles: Database<1, [string, number, string]>;
  /** attachment id -> the upload still writing its chunks; swept at open when its process is gone. */
  uploads: Database<UploadValue, string>;
}

/** Upper bound for numeric key parts; seqs and positions are safe integers. */
export const MAX_POS = Number.MAX_SAFE_INTEGER;

/**
 * When an acknowledged write is safe (config `store.durability`):
 * - "commit": committed and visible to every process; LMDB flushes it to disk right after, in
 *   parallel with later transactions (lmdb-js overlappingSync). Survives any process crash; a
 *   power loss can lose the last instants but never corrupts the store. The default.
 * - "flush": as "commit", and the caller waits until that commit is flushed to disk: survives a
 *   power loss, at the cost of an fsync in every acknowledgement's latency.
 * - "os": no fsync at all, and writes go straight into the memory map (noSync + useWritemap);
 *   the OS writes pages back when it likes. Survives any process crash with the lowest latency
 *   (fsync stalls dominate the p99 otherwise, BENCHMARKS.md), but a power loss can lose recent
 *   writes and may corrupt the store.
 */
export type Durability = "commit" | "flush" | "os";

export function openDbs(path: string, durability: Durability = "commit"): LmdbDbs {
  // maxDbs leaves room for a few more sub-databases without reformatting the environment.
  const env = open({ path, maxDbs: 32, ...(durability === "os" ? { noSync: true, overlappingSync: false, useWritemap: true } : {}) });
  const db = <V, K extends string | [string, number] | [string, string] | [string, number, string]>(name: string) =>
    env.openDB<V, K>({ name });
  return {
    env,
    msgs: db("msgs"),
    dedup: db("dedup"),
    seqs: db("seqs"),
    p2pHeads: db("p2pHeads"),
    inboxMeta: db("inboxMeta"),
    inbox: db("inbox"),
    topics: db("topics"),
    members: db("members"),
    memberOf: db("memberOf"),
    invites: db("invites"),
    owned: db("owned"),
    cursors: db("cursors"),
    clients: db("clients"),
    reads: db("reads"),
    recent: db("recent"),
    files: db("files"),
    chunks: env.openDB<Buffer, [string, number]>({ name: "chunks", encoding: "binary" }),
    convFiles: db("convFiles"),
    uploads: db("uploads"),
  };
}

/**
 * LMDB keys are at most 1978 bytes (lmdb-js default); the encoded array adds a few bytes per part.
 * Ids are validated far shorter upstream, so this only stops abuse that skipped validation.
 */
const MAX_KEY_TEXT_BYTES = 1900;

/**
 * Reject, before any write, texts that could not form one key together. It must come first: a
 * put that throws midway through a transaction callback would not undo the puts before it.
 */
export function assertKeyFits(...parts: string[]): void {
  let chars = 0;
  for (const p of parts) chars += p.length;
  // A UTF-16 unit is at most 3 UTF-8 bytes: most calls never need the exact byte count.
  if (chars * 3 <= MAX_KEY_TEXT_BYTES) return;
  let bytes = 0;
  for (const p of parts) bytes += Buffer.byteLength(p);
  if (bytes > MAX_KEY_TEXT_BYTES) {
    throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, `ids too long for the store: ${bytes} bytes, at most ${MAX_KEY_TEXT_BYTES}`);
  }
}

/** Positive limits only: a zero or negative limit means "nothing", never "unlimited". */
export function clampLimit(limit: number): number {
  return Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
}

/**
 * Second key parts of the entries [prefix, x] with x > after, ascending, at most limit.
 * Ordered-binary keeps all [prefix, *] keys contiguous, so the scan stops at the first other prefix.
 */
export function secondPartsAfter(
  db: Database<1, [string, string]>,
  prefix: string,
  after: string,
  limit: number,
): string[] {
  const n = clampLimit(limit);
  const out: string[] = [];
  if (n === 0) return out;
  for (const { key } of db.getRange({ start: [prefix, after] })) {
    if (key[0] !== prefix || out.length >= n) break;
    if (key[1] !== after) out.push(key[1]);
  }
  return out;
}

/** Messages of one conversation with seq > afterSeq, ascending. */
export function convRange(dbs: LmdbDbs, conv: string, afterSeq: number, limit: number): StoredMessage[] {
  const n = clampLimit(limit);
  if (n === 0) return [];
  const start = Math.max(0, Math.floor(afterSeq)) + 1;
  return Array.from(dbs.msgs.getRange({ start: [conv, start], end: [conv, MAX_POS], limit: n }), (e) => e.value);
}

/** The stored original of an earlier send with the same (from, cmid), read inside the write transaction. */
export function findOriginal(dbs: LmdbDbs, from: string, cmid: string | undefined): { msg: StoredMessage; ipos: number } | undefined {
  if (cmid === undefined) return undefined;
  const loc = dbs.dedup.get([from, cmid]);
  const msg = loc && dbs.msgs.get([loc[0], loc[1]]);
  return msg && { msg, ipos: loc.length === 4 ? loc[3] : 0 };
}

/** Write a message and its dedup entry. Must run inside a write transaction. */
export function putMessage(dbs: LmdbDbs, msg: StoredMessage, loc: MsgLoc): void {
  dbs.msgs.putSync([msg.conv, msg.seq], msg);
  if (msg.cmid !== undefined) dbs.dedup.putSync([msg.from, msg.cmid], loc);
}

/** Allocate the next seq of a conversation. Must run inside a write transaction. */
export function nextSeq(dbs: LmdbDbs, conv: string): number {
  const seq = (dbs.seqs.get(conv) ?? 0) + 1;
  dbs.seqs.putSync(conv, seq);
  return seq;
}
