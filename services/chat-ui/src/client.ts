import { Backoff } from "./backoff.js";
import { ConnectionLost, ServerError, Socket } from "./socket.js";

/**
 * The page's connection to FishChat: finds a msg_server through the gateway (GET /v1/endpoint),
 * logs in with the token, and when the connection drops reconnects with backoff and jitter, logs
 * in again and lets the server redeliver what was not acknowledged (the page drops repeats by
 * uuid). Sends go through an outbox with a client message id (cmid): one that got no reply is
 * sent again on the next connection with the same cmid, which the server stores only once.
 */

export type ConnState = "connecting" | "online" | "offline" | "ended";

export interface Credentials {
  id: string;
  token: string;
  /** A WebSocket URL to try first (the dev login names one). */
  endpoint?: string;
}

export interface TokenSource {
  /** A fresh token for the same id, or null when there is none to be had (the session then ends at expiry). */
  refresh(): Promise<string | null>;
}

export interface Incoming {
  kind: "p2p" | "topic";
  /** The peer (p2p) or the topic name. */
  target: string;
  from: string;
  body: string;
  uuid: string;
  seq: number;
  ts: number;
}

export interface HistoryItem {
  seq: number;
  uuid: string;
  from: string;
  body: string;
  ts: number;
}

export interface ClientEvents {
  state(s: ConnState, detail: { retryInMs?: number; reason?: string; first?: boolean }): void;
  message(m: Incoming): void;
  /** Every other push (READ_RECEIPT, PRESENCE, TYPING, TOPIC_MEMBER, TOPIC_GAP, ...). */
  push(name: string, args: string[]): void;
}

interface Outgoing {
  cmd: string;
  args: string[];
  resolve(r: { uuid: string; seq: number }): void;
  reject(e: Error): void;
  inFlight: boolean;
}

/** Errors after which a send is tried again on the next connection rather than failed. */
const RETRYABLE = new Set(["IM_ERR_RATE_LIMITED", "IM_ERR_SHUTTING_DOWN", "IM_ERR_UNAVAILABLE", "IM_ERR_TIMEOUT", "IM_ERR_NOT_LOGGED_IN"]);
/** Errors that end the session: trying again with the same token cannot help. */
const FATAL = new Set(["IM_ERR_AUTH_FAILED", "IM_ERR_TOKEN_EXPIRED", "IM_ERR_TOKEN_REVOKED", "IM_ERR_BAD_CLIENT_ID"]);

export function newCmid(): string {
  return crypto.randomUUID();
}

export class ChatClient {
  state: ConnState = "connecting";
  private sock: Socket | null = null;
  private readonly backoff = new Backoff();
  private readonly outbox: Outgoing[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  private everOnline = false;
  /** HISTORY requests run one at a time, so every HISTORY_ITEM belongs to the one running. */
  private historyChain: Promise<unknown> = Promise.resolve();
  private historySink: ((item: string[]) => void) | null = null;
  private endReason = "";

  constructor(
    private creds: Credentials,
    private readonly tokens: TokenSource,
    private readonly ev: ClientEvents,
  ) {
    window.addEventListener("online", () => this.retryNow());
    void this.run();
  }

  get id(): string {
    return this.creds.id;
  }

  get token(): string {
    return this.creds.token;
  }

  /** The msg_server's HTTP origin for files: the WebSocket's host and port (http:// for ws://, https:// for wss://). */
  httpBase: string | null = null;
  /** The WebSocket URL of the current (or last) connection. */
  url = "";

  /** Skip the wait of the current backoff step. */
  retryNow(): void {
    this.wake?.();
  }

  /** A command on the current connection; rejects with ConnectionLost while offline. */
  request(cmd: string, args: readonly (string | number)[] = []): Promise<string[]> {
    if (!this.sock?.isOpen || this.state !== "online") return Promise.reject(new ConnectionLost("offline"));
    return this.sock.request(cmd, args);
  }

  /** A message send through the outbox: kept and retried with its cmid until the server answers. */
  send(kind: "p2p" | "topic", target: string, body: string, cmid: string): Promise<{ uuid: string; seq: number }> {
    return new Promise((resolve, reject) => {
      const cmd = kind === "p2p" ? "SEND_MESSAGE_P2P" : "SEND_MESSAGE_TOPIC";
      // p2p: <to> <msg> [from] [cmid]; topic: <name> <msg> [cmid].
      const args = kind === "p2p" ? [target, body, this.creds.id, cmid] : [target, body, cmid];
      this.outbox.push({ cmd, args, resolve, reject, inFlight: false });
      this.flush();
    });
  }

  /** Messages of a conversation with seq > afterSeq, ascending (HISTORY). */
  history(kind: "p2p" | "topic", target: string, afterSeq: number, limit: number): Promise<HistoryItem[]> {
    const run = async () => {
      const items: HistoryItem[] = [];
      this.historySink = (a) => {
        const [, seq, uuid, from, body, ts] = a;
        items.push({ seq: Number(seq), uuid: uuid ?? "", from: from ?? "", body: body ?? "", ts: Number(ts) });
      };
      try {
        await this.request("HISTORY", [kind, target, afterSeq, limit]);
        return items;
      } finally {
        this.historySink = null;
      }
    };
    const p = this.historyChain.then(run, run);
    this.historyChain = p.catch(() => undefined);
    return p;
  }

  /** Log out and stop reconnecting. */
  async logout(): Promise<void> {
    this.ended = true;
    this.endReason = "signed out";
    const s = this.sock;
    if (s?.isOpen) await s.request("LOGOUT").catch(() => undefined);
    s?.close();
    this.wake?.();
  }

  private setState(s: ConnState, detail: { retryInMs?: number; reason?: string; first?: boolean } = {}): void {
    this.state = s;
    this.ev.state(s, detail);
  }

  private async endpoint(): Promise<string> {
    if (this.creds.endpoint) {
      const url = this.creds.endpoint;
      this.creds = { ...this.creds, endpoint: undefined };
      return url;
    }
    const res = await fetch("v1/endpoint", { cache: "no-store" });
    const body = (await res.json().catch(() => ({}))) as { ws?: string | null; error?: { code: string; message: string } };
    if (!res.ok || !body.ws) throw new ServerError(body.error?.code ?? "IM_ERR_UNAVAILABLE", body.error?.message ?? `gateway answered ${res.status}`);
    return body.ws;
  }

  private async run(): Promise<void> {
    while (!this.ended) {
      this.setState("connecting");
      let reason = "";
      try {
        const url = await this.endpoint();
        const closed = await this.connect(url);
        reason = await closed;
      } catch (err) {
        if (err instanceof ServerError && FATAL.has(err.code)) {
          this.ended = true;
          this.endReason = err.code === "IM_ERR_AUTH_FAILED" ? "the server did not accept your sign-in" : err.message;
          break;
        }
        reason = err instanceof Error ? err.message : String(err);
      }
      if (this.ended) break;
      const wait = this.backoff.next();
      this.setState("offline", { retryInMs: wait, reason });
      await new Promise<void>((r) => {
        const timer = window.setTimeout(r, wait);
        this.wake = () => {
          window.clearTimeout(timer);
          r();
        };
      });
      this.wake = null;
    }
    this.setState("ended", { reason: this.endReason });
    for (const o of this.outbox.splice(0)) o.reject(new Error(this.endReason || "signed out"));
  }

  /** Opens, logs in; resolves with a promise of the close reason once online. */
  private async connect(url: string): Promise<Promise<string>> {
    let closed!: (why: string) => void;
    const done = new Promise<string>((r) => (closed = r));
    let notice = "";
    const sock = await Socket.open(url, {
      onPush: (name, args) => this.onPush(sock, name, args),
      onNotice: (code, message) => {
        notice = `${code} ${message}`;
        if (FATAL.has(code) || code === "IM_ERR_KICKED") {
          this.ended = true;
          this.endReason = code === "IM_ERR_KICKED" ? "you signed in somewhere else" : code === "IM_ERR_TOKEN_EXPIRED" ? "your sign-in expired" : message;
        }
      },
      onClose: (code) => {
        if (this.sock === sock) this.sock = null;
        for (const o of this.outbox) o.inFlight = false;
        closed(notice || `connection closed (${code})`);
      },
    });
    this.url = url;
    const u = new URL(url);
    this.httpBase = `${u.protocol === "wss:" ? "https:" : "http:"}//${u.host}`;
    try {
      await sock.request("SEND_CLIENT_ID", [this.creds.id, this.creds.token]);
    } catch (err) {
      sock.close();
      throw err;
    }
    this.sock = sock;
    this.backoff.reset();
    const first = !this.everOnline;
    this.everOnline = true;
    this.setState("online", { first });
    this.flush();
    return done;
  }

  private onPush(sock: Socket, name: string, args: string[]): void {
    switch (name) {
      case "RESP_MESSAGE_P2P": {
        const [body = "", from = "", uuid = "", seq = "0", ts = "0"] = args;
        this.ev.message({ kind: "p2p", target: from, from, body, uuid, seq: Number(seq), ts: Number(ts) });
        // Acknowledged once the page holds it: the inbox entry goes, and a reconnect does not bring it back.
        sock.request("P2P_ACK", [this.creds.id, uuid]).catch(() => undefined);
        return;
      }
      case "RESP_MESSAGE_TOPIC": {
        const [topic = "", body = "", from = "", uuid = "", seq = "0", ts = "0"] = args;
        this.ev.message({ kind: "topic", target: topic, from, body, uuid, seq: Number(seq), ts: Number(ts) });
        sock.request("TOPIC_ACK", [topic, seq]).catch(() => undefined);
        return;
      }
      case "HISTORY_ITEM":
        this.historySink?.(args);
        return;
      case "GOAWAY":
        // The server drains: go at once (it redelivers what we did not acknowledge elsewhere).
        this.backoff.reset();
        sock.close(1000, "goaway");
        return;
      case "TOKEN_EXPIRING":
        void this.refreshToken(sock);
        return;
      default:
        this.ev.push(name, args);
    }
  }

  private async refreshToken(sock: Socket): Promise<void> {
    const token = await this.tokens.refresh().catch(() => null);
    if (!token || !sock.isOpen) return;
    try {
      await sock.request("REFRESH_TOKEN", [token]);
      this.creds = { ...this.creds, token };
    } catch {
      // The session ends at expiry; the close says why.
    }
  }

  /** Sends every queued message not yet on the wire, in order (replies come in the same order). */
  private flush(): void {
    const sock = this.sock;
    if (!sock?.isOpen || this.state !== "online") return;
    for (const o of this.outbox) {
      if (o.inFlight) continue;
      o.inFlight = true;
      sock.request(o.cmd, o.args).then(
        (r) => {
          this.outbox.splice(this.outbox.indexOf(o), 1);
          o.resolve({ uuid: r[0] ?? "", seq: Number(r[1]) });
        },
        (err: Error) => {
          if (err instanceof ConnectionLost || (err instanceof ServerError && RETRYABLE.has(err.code))) {
            // Kept: the next connection sends it again with the same cmid. A rate limit waits a moment.
            o.inFlight = false;
            if (err instanceof ServerError && err.code === "IM_ERR_RATE_LIMITED") window.setTimeout(() => this.flush(), 1000);
            return;
          }
          this.outbox.splice(this.outbox.indexOf(o), 1);
          o.reject(err);
        },
      );
    }
  }
}
