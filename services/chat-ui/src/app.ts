import { fileBody, preview } from "./body.js";
import { ChatClient, type ConnState, type Incoming, newCmid, type TokenSource } from "./client.js";
import { FileCache, upload } from "./files.js";
import { type Conv, Model } from "./model.js";
import { applyNotice } from "./notices.js";
import { Rooms } from "./rooms.js";
import { ServerError } from "./socket.js";

/**
 * The controller: turns the client's events into model changes and the views' actions into
 * commands. Views never talk to the connection themselves.
 */

/** Messages per HISTORY page, when opening a conversation and per scroll-back. */
export const PAGE = 30;
/** Bodies over this many UTF-8 bytes are refused before sending (the server's maxMessageBytes default). */
export const MAX_BODY_BYTES = 32 * 1024;
/** ONLINE_USERS is asked at most this often when conversations with people not known online open. */
const PRESENCE_EVERY_MS = 1000;
/** A TYPING goes out at most this often while the user types (the server allows 1/s, burst 5). */
const TYPING_EVERY_MS = 3000;

export interface ConnView {
  state: ConnState;
  /** The msg_server's WebSocket URL while online. */
  url: string;
  retryAt: number;
  reason: string;
}

export class App {
  readonly model = new Model();
  readonly client: ChatClient;
  readonly files: FileCache;
  readonly rooms: Rooms;
  conn: ConnView = { state: "connecting", url: "", retryAt: 0, reason: "" };
  filesBase: string | null = null;
  /** Features the server answered IM_ERR_UNKNOWN_COMMAND for (an older msg_server). */
  readonly missing = new Set<string>();
  onConn: (c: ConnView) => void = () => undefined;
  /** A new message for the screen reader's live region. */
  onAnnounce: (text: string) => void = () => undefined;
  private lastTyping = 0;

  constructor(
    signIn: { id: string; token: string; endpoint?: string },
    tokens: TokenSource,
  ) {
    this.model.me = signIn.id;
    this.rooms = new Rooms(this);
    this.files = new FileCache(() => ({ base: this.filesBase, token: this.client.token }));
    this.client = new ChatClient(signIn, tokens, {
      state: (s, d) => this.onState(s, d),
      message: (m) => this.onMessage(m),
      push: (name, args) => this.onPush(name, args),
    });
    document.addEventListener("visibilitychange", () => {
      const c = this.openConv();
      if (c && document.visibilityState === "visible") void this.markRead(c);
    });
  }

  get me(): string {
    return this.model.me;
  }

  openConv(): Conv | null {
    return this.model.openKey ? (this.model.convs.get(this.model.openKey) ?? null) : null;
  }

  private onState(s: ConnState, d: { retryInMs?: number; reason?: string }): void {
    this.conn = { state: s, url: s === "online" ? this.client.url : "", retryAt: d.retryInMs ? Date.now() + d.retryInMs : 0, reason: d.reason ?? "" };
    if (s !== "online") {
      this.filesBase = null;
      // Offline, nobody is known to be online: the dots would be stale. The next login asks again.
      if (this.model.online.size > 0) {
        this.model.online.clear();
        this.model.emit({ what: "presence" });
      }
    }
    this.onConn(this.conn);
    if (s === "online") void this.resync();
  }

  /** After every login: the list, who is online, and anything missed in conversations on screen. */
  private async resync(): Promise<void> {
    const base = await this.client.request("FILES_URL").then((r) => r[0] ?? null, () => null);
    this.filesBase = base ?? (this.client.httpBase ? `${this.client.httpBase}/v1/files` : null);
    await this.loadConversations();
    await this.refreshPresence(true);
    for (const c of this.model.convs.values()) {
      if (c.historyLoaded) await this.fillGap(c);
    }
    const open = this.openConv();
    if (open) await this.opened(open);
    this.onConn(this.conn);
  }

  /**
   * Who is online, from ONLINE_USERS: at login, and when a conversation with someone opens.
   * PRESENCE pushes keep it current for the people one already talks to; someone new is not
   * among them until the first message, so opening a chat asks (at most every few seconds).
   */
  private async refreshPresence(force = false): Promise<void> {
    const wait = this.presenceAt + PRESENCE_EVERY_MS - Date.now();
    if (!force && wait > 0) {
      // Asked too soon after the last answer: ask once more when allowed instead of dropping the
      // question. Dropped, a peer who logged in during that second (no PRESENCE push reaches
      // someone they have never chatted with) stayed "offline" on screen for good.
      this.presenceTimer ??= setTimeout(() => {
        this.presenceTimer = undefined;
        void this.refreshPresence();
      }, wait);
      return;
    }
    this.presenceAt = Date.now();
    await this.client.request("ONLINE_USERS", [1000]).then(
      (ids) => {
        this.model.online.clear();
        for (const id of ids) this.model.online.add(id);
        this.model.emit({ what: "presence" });
      },
      () => undefined,
    );
  }

  private presenceAt = 0;
  private presenceTimer: ReturnType<typeof setTimeout> | undefined;

  /** One CONVERSATIONS walk at a time: its pushes are collected by the one running. */
  loadConversations(): Promise<void> {
    const p = this.listChain.then(() => this.walkConversations());
    this.listChain = p.catch(() => undefined);
    return p;
  }

  private listChain: Promise<void> = Promise.resolve();

  private async walkConversations(): Promise<void> {
    const summaries: string[][] = [];
    const collect = (name: string, args: string[]) => name === "CONVERSATION" && summaries.push(args);
    this.pushTap = collect;
    try {
      let cursor: string[] = [];
      for (let page = 0; page < 10; page++) {
        const r = await this.client.request("CONVERSATIONS", [200, ...cursor]);
        if (Number(r[0]) < 200 || r.length < 3) break;
        cursor = [r[1]!, r[2]!];
      }
    } catch (err) {
      if (err instanceof ServerError && err.code === "IM_ERR_UNKNOWN_COMMAND") {
        // A msg_server without the conversation list: at least the rooms I am in.
        this.missing.add("CONVERSATIONS");
        const topics = await this.client.request("MY_TOPICS").catch(() => [] as string[]);
        for (const t of topics) this.model.conv("topic", t).left = false;
      }
    } finally {
      this.pushTap = null;
    }
    for (const a of summaries) {
      const [kind, , target = "", head, read, , peerRead, lastSeq, lastFrom = "", lastTs, lastBody = ""] = a;
      if (kind !== "p2p" && kind !== "topic") continue;
      this.model.applySummary({
        kind,
        target,
        head: Number(head),
        read: Number(read),
        peerRead: peerRead === "-" || peerRead === undefined ? null : Number(peerRead),
        last: Number(lastSeq) > 0 ? { seq: Number(lastSeq), from: lastFrom, body: lastBody, ts: Number(lastTs) } : null,
      });
    }
    this.model.emit({ what: "list" });
  }

  private pushTap: ((name: string, args: string[]) => void) | null = null;

  private onMessage(m: Incoming): void {
    const added = this.model.addMessage(m.kind, m.target, m, true);
    if (!added) return;
    const c = this.model.conv(m.kind, m.target);
    if (m.from !== this.me) {
      const where = m.kind === "topic" ? ` in ${m.target}` : "";
      this.onAnnounce(`${m.from}${where}: ${preview(m.body)}`);
      if (this.model.openKey === c.key && document.visibilityState === "visible") void this.markRead(c);
    }
    this.model.emit({ what: "conv", key: c.key });
    this.model.emit({ what: "list" });
  }

  private onPush(name: string, args: string[]): void {
    this.pushTap?.(name, args);
    applyNotice(this, name, args);
  }

  /** Opens a conversation: its recent history the first time, and marks it read. */
  async open(key: string): Promise<void> {
    this.model.openKey = key;
    this.model.emit({ what: "list" });
    const c = this.model.convs.get(key);
    if (c) await this.opened(c);
  }

  openP2P(peer: string): void {
    const c = this.model.conv("p2p", peer);
    c.left = false;
    if (!c.activity) c.activity = Date.now();
    void this.open(c.key);
  }

  private async opened(c: Conv): Promise<void> {
    if (this.conn.state !== "online") return;
    if (c.kind === "p2p" && !this.model.online.has(c.target)) void this.refreshPresence();
    else if (!c.members) {
      void this.rooms.members(c.target).catch(() => undefined);
      void this.rooms.topicInfo(c.target).catch(() => undefined);
    }
    if (!c.historyLoaded) {
      try {
        const from = Math.max(0, c.head - PAGE);
        const items = await this.client.history(c.kind, c.target, from, PAGE);
        for (const it of items) this.model.addMessage(c.kind, c.target, it, false);
        c.historyLoaded = true;
        if (c.msgs.length === 0 || from === 0) c.oldest = Math.min(c.oldest, 1);
      } catch (err) {
        // A p2p peer never talked to has no history; a room I am not in says so.
        if (!(err instanceof ServerError)) return;
        c.historyLoaded = true;
      }
      this.model.emit({ what: "conv", key: c.key });
    }
    if (document.visibilityState === "visible") await this.markRead(c);
  }

  /** After a reconnect: whatever arrived in a conversation on screen since its newest message held. */
  private async fillGap(c: Conv): Promise<void> {
    const newest = c.msgs.reduce((n, m) => Math.max(n, m.seq), 0);
    if (newest === 0) return;
    const items = await this.client.history(c.kind, c.target, newest, 500).catch(() => []);
    let n = 0;
    for (const it of items) if (this.model.addMessage(c.kind, c.target, it, false)) n++;
    if (n > 0) this.model.emit({ what: "conv", key: c.key });
  }

  /** Scroll-back: the page of messages before the oldest held. Resolves false when there is none. */
  async loadOlder(): Promise<boolean> {
    const c = this.openConv();
    if (!c || c.oldest <= 1 || !Number.isFinite(c.oldest)) return false;
    const from = Math.max(0, c.oldest - 1 - PAGE);
    const items = await this.client.history(c.kind, c.target, from, c.oldest - 1 - from);
    for (const it of items) this.model.addMessage(c.kind, c.target, it, false);
    if (from === 0 || items.length === 0) c.oldest = 1;
    this.model.emit({ what: "conv", key: c.key });
    return true;
  }

  async markRead(c: Conv): Promise<void> {
    if (c.head <= c.read || this.conn.state !== "online" || this.missing.has("READ")) return;
    const seq = c.head;
    c.read = seq;
    this.model.emit({ what: "list" });
    await this.client.request("READ", [c.kind, c.target, seq]).catch((err: unknown) => {
      if (err instanceof ServerError && err.code === "IM_ERR_UNKNOWN_COMMAND") this.missing.add("READ");
    });
  }

  /** Sends a text (or a prepared attachment reference) to the open conversation. */
  send(body: string, to?: Conv): string | null {
    const c = to ?? this.openConv();
    if (!c) return "open a conversation first";
    if (new TextEncoder().encode(body).length > MAX_BODY_BYTES) return `a message can have at most ${MAX_BODY_BYTES / 1024} KB; send it as a file`;
    const cmid = newCmid();
    this.model.addPending(c.kind, c.target, cmid, body);
    this.model.emit({ what: "conv", key: c.key });
    this.model.emit({ what: "list" });
    this.client.send(c.kind, c.target, body, cmid).then(
      (r) => {
        this.model.confirm(c.kind, c.target, cmid, r.uuid, r.seq);
        this.model.emit({ what: "conv", key: c.key });
      },
      (err: Error) => {
        this.model.fail(c.kind, c.target, cmid, err.message);
        this.model.emit({ what: "conv", key: c.key });
      },
    );
    return null;
  }

  /** Drops a failed message and sends its body again. */
  retry(c: Conv, key: string): void {
    const i = c.msgs.findIndex((m) => m.key === key && m.state === "failed");
    if (i < 0) return;
    const [m] = c.msgs.splice(i, 1);
    this.send(m!.body, c);
  }

  /** Uploads a file to the open conversation, then sends the reference. */
  async sendFile(file: Blob, name: string): Promise<void> {
    const c = this.openConv();
    if (!c) throw new Error("open a conversation first");
    if (!this.filesBase || this.conn.state !== "online") throw new Error("offline: files can be sent once connected");
    const up = await upload(this.filesBase, this.client.token, c.kind === "p2p" ? `p2p:${c.target}` : c.target, file, name);
    // The full reference, shown at once; the server checks it and rewrites it from the store.
    const err = this.send(fileBody(up.id, undefined, up), c);
    if (err) throw new Error(err);
  }

  /** Sends a TYPING now and then while the user types. */
  typing(): void {
    const c = this.openConv();
    if (!c || this.conn.state !== "online" || this.missing.has("TYPING")) return;
    if (Date.now() - this.lastTyping < TYPING_EVERY_MS) return;
    this.lastTyping = Date.now();
    this.client.request("TYPING", [c.kind, c.target]).catch((err: unknown) => {
      if (err instanceof ServerError && err.code === "IM_ERR_UNKNOWN_COMMAND") this.missing.add("TYPING");
    });
  }

  typingNow(c: Conv): string[] {
    const now = Date.now();
    return [...c.typing].filter(([, until]) => until > now).map(([id]) => id);
  }
}
