/**
 * What the page knows: conversations and their messages, kept in seq order and free of repeats
 * (a reconnect can bring a message again: it is dropped by uuid), read positions, presence and
 * typing. No DOM here; views read it and `changed` tells them what to redraw.
 */

export type Kind = "p2p" | "topic";
export type MsgState = "sending" | "sent" | "failed" | "received";

export interface Msg {
  /** Stable key for the view: the uuid once known, else "c:" + cmid. */
  key: string;
  uuid: string | null;
  cmid: string | null;
  /** 0 while sending. */
  seq: number;
  from: string;
  body: string;
  ts: number;
  state: MsgState;
  error?: string;
}

export interface Conv {
  /** Page key: "p2p:<peer>" or "topic:<name>". */
  key: string;
  kind: Kind;
  /** The peer or the topic name. */
  target: string;
  msgs: Msg[];
  uuids: Set<string>;
  /** seq of the newest message known (from the list or from messages). */
  head: number;
  /** My read position. */
  read: number;
  /** p2p: how far the peer has read (READ_RECEIPT, CONVERSATIONS, or its own messages). */
  peerRead: number;
  /** Lowest seq loaded in `msgs` (Infinity before any history was asked for). */
  oldest: number;
  historyLoaded: boolean;
  activity: number;
  last: { from: string; body: string; ts: number } | null;
  /** Topic: members when known. */
  members: string[] | null;
  typing: Map<string, number>;
  /** A topic I left (kept on screen until the list is read again). */
  left?: boolean;
  /** Topic: owner, policy and admins (TOPIC_INFO) when known. */
  info?: { owner: string; policy: string; memberCount: number; admins: string[] };
}

export function convKey(kind: Kind, target: string): string {
  return `${kind}:${target}`;
}

export type Change = { what: "list" } | { what: "conv"; key: string } | { what: "presence" };

export class Model {
  me = "";
  readonly convs = new Map<string, Conv>();
  readonly online = new Set<string>();
  openKey: string | null = null;
  private readonly listeners: ((c: Change) => void)[] = [];

  onChange(fn: (c: Change) => void): void {
    this.listeners.push(fn);
  }

  emit(c: Change): void {
    for (const fn of this.listeners) fn(c);
  }

  conv(kind: Kind, target: string): Conv {
    const key = convKey(kind, target);
    let c = this.convs.get(key);
    if (!c) {
      c = { key, kind, target, msgs: [], uuids: new Set(), head: 0, read: 0, peerRead: 0, oldest: Number.POSITIVE_INFINITY, historyLoaded: false, activity: 0, last: null, members: null, typing: new Map() };
      this.convs.set(key, c);
    }
    return c;
  }

  unread(c: Conv): number {
    return Math.max(0, c.head - c.read);
  }

  totalUnread(): number {
    let n = 0;
    for (const c of this.convs.values()) n += this.unread(c);
    return n;
  }

  /** Conversations newest activity first. */
  sorted(): Conv[] {
    return [...this.convs.values()].filter((c) => !c.left).sort((a, b) => b.activity - a.activity || a.key.localeCompare(b.key));
  }

  /** A CONVERSATION entry: the server's state wins for positions, messages already held stay. */
  applySummary(s: { kind: Kind; target: string; head: number; read: number; peerRead: number | null; last: { seq: number; from: string; body: string; ts: number } | null }): void {
    const c = this.conv(s.kind, s.target);
    c.left = false;
    c.head = Math.max(c.head, s.head);
    c.read = Math.max(c.read, s.read);
    if (s.peerRead !== null) c.peerRead = Math.max(c.peerRead, s.peerRead);
    if (s.last && s.last.seq > 0 && (!c.last || s.last.ts >= c.last.ts)) c.last = { from: s.last.from, body: s.last.body, ts: s.last.ts };
    c.activity = Math.max(c.activity, s.last?.ts ?? 0);
  }

  /**
   * A message from the server (push or history). Returns false for one already held. Own
   * messages (another device, or the echo of a topic send) merge with the pending copy by uuid.
   */
  addMessage(kind: Kind, target: string, m: { uuid: string; seq: number; from: string; body: string; ts: number }, live: boolean): boolean {
    const c = this.conv(kind, target);
    if (c.uuids.has(m.uuid)) return false;
    c.uuids.add(m.uuid);
    const mine = m.from === this.me;
    // The echo of my own topic send can come before its OK: it is the pending copy (the one
    // with the same body), not a second message. Shown twice, even for a moment, it looked like
    // a double send. Only when exactly one pending copy matches; confirm() untangles the rest.
    const pending = mine && live ? c.msgs.filter((x) => x.uuid === null && x.body === m.body) : [];
    if (pending.length === 1) {
      const [msg] = pending as [Msg];
      c.msgs.splice(c.msgs.indexOf(msg), 1);
      Object.assign(msg, { uuid: m.uuid, seq: m.seq, ts: m.ts, state: "sent" });
      insertBySeq(c.msgs, msg);
    } else {
      insertBySeq(c.msgs, { key: m.uuid, uuid: m.uuid, cmid: null, seq: m.seq, from: m.from, body: m.body, ts: m.ts, state: mine ? "sent" : "received" });
    }
    if (m.seq < c.oldest) c.oldest = m.seq;
    this.noteHead(c, m, mine);
    if (live) c.left = false;
    c.typing.delete(m.from);
    return true;
  }

  /** A send of mine, before the server answered. */
  addPending(kind: Kind, target: string, cmid: string, body: string): Msg {
    const c = this.conv(kind, target);
    const msg: Msg = { key: `c:${cmid}`, uuid: null, cmid, seq: 0, from: this.me, body, ts: Date.now(), state: "sending" };
    c.msgs.push(msg);
    c.activity = Math.max(c.activity, msg.ts);
    c.last = { from: msg.from, body, ts: msg.ts };
    return msg;
  }

  /** The OK of a send: the pending copy gets its uuid and seq, unless the message arrived first (topic echo). */
  confirm(kind: Kind, target: string, cmid: string, uuid: string, seq: number): void {
    const c = this.conv(kind, target);
    const i = c.msgs.findIndex((m) => m.cmid === cmid);
    if (i < 0) return;
    const held = c.msgs[i]!;
    if (held.uuid === uuid) {
      this.noteHead(c, held, true);
      return;
    }
    if (held.uuid !== null) {
      // It took the echo of another message with the same body (sent by the server API in my
      // name, say): that one stays as it is, and this send is shown on its own, once.
      held.cmid = null;
      if (!c.uuids.has(uuid)) {
        c.uuids.add(uuid);
        insertBySeq(c.msgs, { ...held, key: uuid, uuid, seq, cmid: null, ts: Date.now() });
      }
      this.noteHead(c, { ...held, seq }, true);
      return;
    }
    const [msg] = c.msgs.splice(i, 1) as [Msg];
    if (!c.uuids.has(uuid)) {
      c.uuids.add(uuid);
      msg.uuid = uuid;
      msg.seq = seq;
      msg.state = "sent";
      insertBySeq(c.msgs, msg);
      if (seq < c.oldest) c.oldest = seq;
    }
    this.noteHead(c, msg, true);
  }

  fail(kind: Kind, target: string, cmid: string, error: string): void {
    const msg = this.conv(kind, target).msgs.find((m) => m.cmid === cmid);
    if (!msg) return;
    msg.state = "failed";
    msg.error = error;
  }

  private noteHead(c: Conv, m: { seq: number; from: string; body: string; ts: number }, mine: boolean): void {
    if (m.seq > c.head) c.head = m.seq;
    // Sending moves my read position (as the server does); a peer's message shows how far it has read.
    if (mine) c.read = Math.max(c.read, m.seq);
    else if (c.kind === "p2p") c.peerRead = Math.max(c.peerRead, m.seq);
    if (!c.last || m.ts >= c.last.ts) c.last = { from: m.from, body: m.body, ts: m.ts };
    c.activity = Math.max(c.activity, m.ts);
  }
}

/** Sent messages in seq order; those still sending stay at the end in the order they were written. */
function insertBySeq(msgs: Msg[], msg: Msg): void {
  let i = msgs.length;
  while (i > 0 && (msgs[i - 1]!.seq === 0 || msgs[i - 1]!.seq > msg.seq)) i--;
  msgs.splice(i, 0, msg);
}
