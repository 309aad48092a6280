/**
 * The durable store: the source of truth for messages, inboxes, topics and membership.
 * Redis only caches and routes. Two adapters implement this interface (LMDB embedded, MongoDB via
 * mongoose); test/conformance/store.suite.ts runs the same assertions against both.
 *
 * Rules every adapter must keep (the conformance suite checks them):
 * - Sequence numbers (per conversation, per topic) and inbox positions (per recipient) only grow,
 *   are never reused, and come from the store itself, so a Redis loss cannot make them regress.
 * - A promise that resolves means the write is committed: it survives a crash of the calling process.
 * - Writes are idempotent where a retry is possible: (from, cmid) deduplicates sends,
 *   addMember/removeMember/ackInbox may be repeated, setCursors only moves a cursor forward.
 * - Methods never return internal objects that a caller could mutate to change stored state.
 * - Within one process, appends to one conversation (or topic) resolve in call order with seqs
 *   in call order: the msg_server starts a sender's sends as they arrive and relies on this to
 *   keep them in order without waiting for each commit.
 * - Read positions only grow and never pass the conversation's head; sending a message moves the
 *   sender's read position to it (conversations.ts).
 * - An attachment is visible only once all its bytes are committed; a failed or refused upload
 *   leaves nothing behind (attachments.ts).
 */
import type { PruneCursor, PruneResult, RetentionPolicy } from "./retention.js";
import type { Readable } from "node:stream";
import type { AttachmentInfo, AttachmentSource, ByteRange, NewAttachment, PutAttachmentOptions } from "./attachments.js";
import type { ConversationCursor, ConversationSummary, ReadPositionResult } from "./conversations.js";

export type { AttachmentInfo, AttachmentSource, ByteRange, NewAttachment, PutAttachmentOptions } from "./attachments.js";
export type { ConversationCursor, ConversationSummary, ReadPositionResult } from "./conversations.js";

/** A message as stored and as delivered. */
export interface StoredMessage {
  uuid: string;
  kind: "p2p" | "topic";
  /** Conversation id: `p2pConversation(a, b)` for p2p, the topic name for topics. */
  conv: string;
  /** Position in the conversation: 1, 2, 3... (gaps allowed only where a write never committed). */
  seq: number;
  from: string;
  /** p2p: the recipient's client id; topic: the topic name. */
  to: string;
  body: string;
  /** Milliseconds since the epoch, set by the msg_server that accepted it. */
  ts: number;
  /** Client message id given by the sender, used to deduplicate retries. */
  cmid?: string;
}

export interface NewP2PMessage {
  uuid: string;
  from: string;
  to: string;
  body: string;
  ts: number;
  cmid?: string;
}

export interface NewTopicMessage {
  uuid: string;
  topic: string;
  from: string;
  body: string;
  ts: number;
  cmid?: string;
}

export interface AppendP2PResult {
  msg: StoredMessage;
  /** Position in the recipient's inbox (per-recipient counter, starts at 1). */
  ipos: number;
  /** True when (from, cmid) was seen before: msg is the original and nothing new was stored. */
  duplicate: boolean;
}

export interface AppendTopicResult {
  msg: StoredMessage;
  duplicate: boolean;
}

export interface InboxEntry {
  recipient: string;
  ipos: number;
  msg: StoredMessage;
}

/** Who may join a topic: anyone (v1's only kind), or members the owner or an admin invited. */
export type TopicPolicy = "public" | "private";

export interface TopicRecord {
  name: string;
  creator: string;
  createdAt: number;
  memberCount: number;
  /** Who may invite, remove members, name admins and change the topic; the creator at first. */
  owner: string;
  policy: TopicPolicy;
  /** Members the owner named, who may invite and remove members too (at most MAX_TOPIC_ADMINS). */
  admins: string[];
}

/** Admins per topic: a short list, kept in the topic record. */
export const MAX_TOPIC_ADMINS = 16;

export interface TopicChange {
  owner?: string;
  policy?: TopicPolicy;
  admins?: string[];
}

export interface ClientRecord {
  clientId: string;
  clientAddr: string;
  msgServerAddr: string;
  alive: boolean;
  lastSeenMs: number;
}

export interface CursorUpdate {
  clientId: string;
  topic: string;
  seq: number;
}

export interface StoreLimits {
  /** Unacknowledged p2p messages one recipient may hold; appendP2P beyond it throws IM_ERR_INBOX_FULL. */
  inboxMaxPending: number;
  /**
   * Largest attachment in bytes; putAttachment stops reading and throws IM_ERR_FILE_TOO_LARGE past
   * it. Default DEFAULT_ATTACHMENT_MAX_BYTES (attachments.ts). A per-call maxBytes can only lower it.
   */
  attachmentMaxBytes?: number;
}

export interface Store {
  readonly kind: "lmdb" | "mongo";
  /**
   * True when a position (seq, ipos) becomes visible in the same commit that allocates it, so a
   * read that misses a position below the head means it will never appear (it was acknowledged
   * and deleted). False when allocation and insert are separate writes (MongoDB without
   * transactions): a missing position may still be in flight for a moment.
   */
  readonly atomicAppends: boolean;

  // ---- p2p -------------------------------------------------------------------------------
  /**
   * Store a p2p message, give it the next seq of its conversation and the next inbox position of
   * its recipient, atomically. If `cmid` is set and (from, cmid) was stored before, return the
   * original with duplicate=true and store nothing. Throws ImError IM_ERR_INBOX_FULL when the
   * recipient already holds `inboxMaxPending` unacknowledged messages.
   */
  appendP2P(m: NewP2PMessage): Promise<AppendP2PResult>;
  /** Unacknowledged inbox entries of `recipient` with ipos > afterIpos, ascending, at most `limit`. */
  inboxRange(recipient: string, afterIpos: number, limit: number): Promise<InboxEntry[]>;
  /** For each recipient: the highest inbox position ever allocated (0 when none). */
  inboxHeads(recipients: readonly string[]): Promise<Map<string, number>>;
  /** Number of unacknowledged entries in the recipient's inbox. */
  inboxPending(recipient: string): Promise<number>;
  /**
   * Remove the entry with this uuid from the recipient's inbox. False if it was not there.
   * `ipos`, when the caller knows it (the msg_server remembers what it pushed), finds the entry
   * directly; without it the adapter looks the uuid up (LMDB: a scan of that one inbox).
   */
  ackInbox(recipient: string, uuid: string, ipos?: number): Promise<boolean>;

  // ---- topics ----------------------------------------------------------------------------
  /**
   * Create a topic with the creator as its first member and owner. Throws IM_ERR_TOPIC_EXISTS
   * if the name is taken, IM_ERR_TOO_MANY_TOPICS when the creator already owns `maxOwned`.
   */
  createTopic(name: string, creator: string, ts: number, opts?: { policy?: TopicPolicy; maxOwned?: number }): Promise<TopicRecord>;
  /**
   * Change owner, policy or admins (only the fields given). Throws IM_ERR_NO_SUCH_TOPIC. The
   * new owner need not be a member (an app backend may hand a topic over).
   */
  updateTopic(name: string, change: TopicChange): Promise<TopicRecord>;
  /** Remove the topic, its membership, invites and messages. False when there was none. */
  deleteTopic(name: string): Promise<boolean>;
  /** Record an invitation to a (private) topic. False when already invited or a member. Throws IM_ERR_NO_SUCH_TOPIC. */
  invite(topic: string, clientId: string): Promise<boolean>;
  isInvited(topic: string, clientId: string): Promise<boolean>;
  getTopic(name: string): Promise<TopicRecord | null>;
  /** Topics ordered by name, names > `after` (for paging), at most `limit`. */
  listTopics(after: string, limit: number): Promise<TopicRecord[]>;
  /**
   * Add a member (consuming an invitation, if any). Returns false when already a member. Throws
   * IM_ERR_NO_SUCH_TOPIC, and IM_ERR_TOPIC_FULL when the topic has `maxMembers` already.
   */
  addMember(topic: string, clientId: string, opts?: { maxMembers?: number }): Promise<boolean>;
  /** Remove a member. Returns false when not a member. The topic and its history stay. */
  removeMember(topic: string, clientId: string): Promise<boolean>;
  isMember(topic: string, clientId: string): Promise<boolean>;
  /** Members ordered by id, ids > `after`, at most `limit`. */
  members(topic: string, after: string, limit: number): Promise<string[]>;
  /** Topics the client belongs to, ordered by name. */
  topicsOf(clientId: string): Promise<string[]>;
  /** Store a topic message with the topic's next seq. Dedup by (from, cmid) as appendP2P. */
  appendTopic(m: NewTopicMessage): Promise<AppendTopicResult>;
  /** Messages of `topic` with seq > afterSeq, ascending, at most `limit`. */
  topicRange(topic: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;
  /** For each topic: the highest seq ever allocated (0 when none). */
  topicHeads(topics: readonly string[]): Promise<Map<string, number>>;
  /** The member's acknowledged seq in the topic (0 when never set). */
  getCursor(clientId: string, topic: string): Promise<number>;
  /** Move cursors forward; an update lower than the stored value is ignored. */
  setCursors(updates: readonly CursorUpdate[]): Promise<void>;

  // ---- history ---------------------------------------------------------------------------
  /** Messages of a conversation (p2pConversation(a,b) or a topic name) with seq > afterSeq, ascending. */
  history(conv: string, afterSeq: number, limit: number): Promise<StoredMessage[]>;

  // ---- read positions and the conversation list (conversations.ts) ------------------------
  /**
   * Move the client's read position in `conv` (p2pConversation(client, peer) or a topic name)
   * forward to `seq`, clamped to the conversation's head; a lower value changes nothing. Throws
   * IM_ERR_BAD_ARGS for a p2p conversation the client is not part of, or a seq that is not a number.
   */
  setReadPosition(clientId: string, conv: string, seq: number): Promise<ReadPositionResult>;
  /** For each conversation: the client's read position (0 when never set). */
  readPositions(clientId: string, convs: readonly string[]): Promise<Map<string, number>>;
  /**
   * The client's conversations, most recent activity first: every p2p conversation it sent or
   * received a message in, and every topic it is a member of. `before` pages: pass the last
   * entry of the previous page. At most `limit` entries.
   */
  conversations(clientId: string, limit: number, before?: ConversationCursor): Promise<ConversationSummary[]>;

  // ---- attachments (attachments.ts) ------------------------------------------------------
  /**
   * Store the bytes of `data` as a new attachment, reading it in bounded chunks. Throws
   * IM_ERR_FILE_TOO_LARGE as soon as more than the size limit arrived (and stops reading),
   * IM_ERR_NO_SUCH_ATTACHMENT when `thumbnailOf` names no attachment, and rethrows an error of
   * `data` itself unchanged; in every failure nothing of the upload stays stored.
   */
  putAttachment(meta: NewAttachment, data: AttachmentSource, opts?: PutAttachmentOptions): Promise<AttachmentInfo>;
  attachmentInfo(id: string): Promise<AttachmentInfo | null>;
  /**
   * The bytes of an attachment, or of `range` (inclusive, as HTTP Range; an end past the last byte
   * is clamped), as a stream that reads one chunk at a time. Throws IM_ERR_NO_SUCH_ATTACHMENT, or
   * IM_ERR_BAD_RANGE when the range starts past the last byte or is malformed. If the attachment
   * is deleted while the stream is being read, the stream either still delivers the original
   * bytes or fails with IM_ERR_NO_SUCH_ATTACHMENT (LMDB: at the next chunk); never other bytes.
   */
  readAttachment(id: string, range?: ByteRange): Promise<Readable>;
  /** Delete an attachment, its bytes and its thumbnail. False when it did not exist. */
  deleteAttachment(id: string): Promise<boolean>;
  /**
   * Attachments of a conversation created before `createdBefore` (ms), oldest first, at most
   * `limit`: what a retention job deletes along with the conversation's old messages.
   */
  attachmentsOf(conv: string, createdBefore: number, limit: number): Promise<AttachmentInfo[]>;
  /**
   * Retention for attachments: delete every attachment created before `createdBefore` (ms), with
   * its thumbnail, over all conversations, looking at most at `budget` of them from `after` (a
   * previous result's `next`). A thumbnail goes with its attachment, never alone. Idempotent.
   */
  pruneAttachments(createdBefore: number, opts: { budget: number; after?: string }): Promise<{ scanned: number; deleted: number; next?: string }>;

  // ---- clients (written by the manager) --------------------------------------------------
  /** Insert or replace; an update with an older lastSeenMs than the stored one is ignored. */
  // ---- retention ---------------------------------------------------------------------------
  /**
   * Delete what the retention policy says may go (retention.ts `prunable`), looking at most at
   * `budget` messages, from `after` (a previous result's `next`) in store order. Idempotent: two
   * managers running it at once delete the same things.
   */
  prune(policy: RetentionPolicy, opts: { now: number; budget: number; after?: PruneCursor }): Promise<PruneResult>;

  upsertClient(rec: ClientRecord): Promise<void>;
  getClient(clientId: string): Promise<ClientRecord | null>;

  close(): Promise<void>;
}
