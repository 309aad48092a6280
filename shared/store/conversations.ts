/**
 * Read positions and the conversation list: types and the rules both adapters share.
 *
 * A read position is per (client, conversation): the highest seq the client has seen there. It
 * only grows, and never passes the conversation's head (a claim beyond it is clamped), so a
 * client cannot pre-read messages that do not exist yet.
 *
 * Own messages are never unread: sending a message moves the sender's read position to it, in
 * the same write as the append (you reply to what you have read, as in most messengers). So
 * every message after a read position is from someone else, and the unread count is simply
 * `head - read`: no per-message bookkeeping, and for a topic no write per member per message.
 * The peer learns this position from the message itself (a message from B with seq s means B's
 * read position is at least s); explicit READs are what the msg_server pushes as receipts.
 *
 * Joining a topic sets the member's read position to the topic's head, so old history does not
 * count as unread.
 */
import { CommandError, ErrorCode } from "../errors.js";
import type { StoredMessage } from "./store.js";

/** One entry of Store.conversations(). */
export interface ConversationSummary {
  kind: "p2p" | "topic";
  /** p2pConversation(client, peer), or the topic name. */
  conv: string;
  /** p2p: the other participant (the client itself in a conversation with itself); topic: its name. */
  target: string;
  /** Seq of the last message (0 when there is none). */
  head: number;
  /** The last message, null when there is none (a topic nobody posted in yet). */
  last: StoredMessage | null;
  /** The ordering key, ms: the last message's ts; for a topic without messages, its createdAt. */
  activity: number;
  /** The client's read position. */
  read: number;
  /** Messages after the read position: head - read (own messages never count, see above). */
  unread: number;
  /** p2p: the peer's read position (read receipts); topic: null. */
  peerRead: number | null;
}

/** Where a page of conversations() ends: the `activity` and `conv` of its last entry. */
export interface ConversationCursor {
  activity: number;
  conv: string;
}

export interface ReadPositionResult {
  /** The read position after the call. */
  read: number;
  /** True when the call moved it (the msg_server pushes a receipt only then). */
  changed: boolean;
}

const P2P_PREFIX = "p2p:";

/** The two participants of a p2p conversation id, or null for a topic name. */
export function p2pParticipants(conv: string): [string, string] | null {
  if (!conv.startsWith(P2P_PREFIX)) return null;
  const rest = conv.slice(P2P_PREFIX.length);
  const space = rest.indexOf(" ");
  if (space < 0) return null;
  return [rest.slice(0, space), rest.slice(space + 1)];
}

/**
 * What a read position in `conv` concerns: its kind and, for p2p, the other participant. Throws
 * IM_ERR_BAD_ARGS for a p2p conversation the client is not part of.
 */
export function convTarget(clientId: string, conv: string): { kind: "p2p" | "topic"; target: string } {
  const pair = p2pParticipants(conv);
  if (pair === null) return { kind: "topic", target: conv };
  if (pair[0] === clientId) return { kind: "p2p", target: pair[1] };
  if (pair[1] === clientId) return { kind: "p2p", target: pair[0] };
  throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, `"${clientId}" is not a participant of ${conv}`);
}

/** A requested read position as a non-negative integer; IM_ERR_BAD_ARGS for NaN and the like. */
export function readSeqArg(seq: number): number {
  if (!Number.isFinite(seq)) throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, `read position must be a number, got ${seq}`);
  return Math.max(0, Math.floor(seq));
}

/** A page cursor as given by a client: IM_ERR_BAD_ARGS unless it is a number and a string. */
export function checkCursor(before: ConversationCursor | undefined): void {
  if (before === undefined) return;
  if (!Number.isFinite(before.activity) || typeof before.conv !== "string") {
    throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "conversation cursor must be {activity: number, conv: string}");
  }
}

/** Byte order of UTF-8, which is how LMDB keys and MongoDB strings compare. */
function compareUtf8(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The list order: newest activity first, then conversation id descending (UTF-8 bytes). */
export function newerFirst(a: ConversationCursor, b: ConversationCursor): number {
  return b.activity - a.activity || compareUtf8(b.conv, a.conv);
}

/** True when `c` comes after the cursor in list order (belongs to the next page). */
export function isAfter(c: ConversationCursor, before: ConversationCursor | undefined): boolean {
  return before === undefined || newerFirst(before, c) < 0;
}

/**
 * Merge the p2p entries (already in list order, from an index) with the topic entries (any
 * order), keeping the first `limit`. Topics are few per client, so sorting them is cheap.
 */
export function mergePage(p2p: readonly ConversationSummary[], topics: ConversationSummary[], limit: number): ConversationSummary[] {
  topics.sort(newerFirst);
  const out: ConversationSummary[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < p2p.length || j < topics.length)) {
    const a = p2p[i];
    const b = topics[j];
    if (b === undefined || (a !== undefined && newerFirst(a, b) <= 0)) {
      out.push(a as ConversationSummary);
      i++;
    } else {
      out.push(b);
      j++;
    }
  }
  return out;
}

/** A summary with the unread count derived from head and read position. */
export function summary(
  kind: "p2p" | "topic",
  conv: string,
  target: string,
  head: number,
  last: StoredMessage | null,
  activity: number,
  read: number,
  peerRead: number | null,
): ConversationSummary {
  return { kind, conv, target, head, last, activity, read, unread: Math.max(0, head - read), peerRead };
}
