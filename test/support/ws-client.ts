/**
 * A WebSocket chat client for tests, speaking the JSON dialect the way a browser app would: every
 * request carries an id and its reply is matched by that id (not by order). Same events as
 * FishChatClient ("p2p", "topic", "push", "close"), so the Tracker of the fault tests watches
 * either. Also sends raw frames (binary, oversized, invalid JSON) for the bad-input tests.
 */
import { EventEmitter } from "node:events";
import { WebSocket } from "ws";
import type { P2PMessage, TopicMessage } from "../../shared/client/client.js";
import { Cmd, type Command } from "../../shared/protocol/commands.js";
import { decodeJsonServerMessage, encodeJsonRequest } from "../../shared/protocol/json-dialect.js";
import { ErrorCode, ImError, errorFromReply } from "../../shared/errors.js";

export const TEST_ORIGIN = "http://app.test.example";

export interface WsClientOptions {
  /** Origin header, as a browser page would send it (default: none, like a mobile app). */
  origin?: string;
  /** P2P_ACK / TOPIC_ACK every message on receipt (default true). */
  autoAck?: boolean;
  /** Answer the server's pings (default true); false plays a peer that went silent. */
  autoPong?: boolean;
  requestTimeoutMs?: number;
  /** Largest message this client accepts. */
  maxPayload?: number;
}

interface Pending {
  resolve(c: Command): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export interface EndpointAnswer {
  ws: string | null;
  tcp: string;
}

/** GET /v1/endpoint of a gateway's HTTP listener. */
export async function fetchEndpoint(httpPort: number, o: { origin?: string; query?: string } = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/endpoint${o.query ?? ""}`, { headers: o.origin ? { Origin: o.origin } : {} });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

export class WsChatClient extends EventEmitter {
  clientId = "";
  closed = false;
  closeCode: number | null = null;
  closeReason = "";
  /** Every server message in arrival order, decoded. */
  readonly received: ({ kind: "reply"; id: unknown; reply: Command } | { kind: "push"; push: Command })[] = [];
  /** Errors the server sent with no request id: refused frames without one, the notice before a close. */
  readonly notices: Command[] = [];
  pings = 0;
  private nextId = 1;
  private readonly pending = new Map<number | string, Pending>();
  private readonly opts: Required<Omit<WsClientOptions, "origin">>;

  private constructor(
    readonly ws: WebSocket,
    opts: WsClientOptions,
  ) {
    super();
    this.opts = { autoAck: true, autoPong: true, requestTimeoutMs: 10_000, maxPayload: 16 * 1024 * 1024, ...opts };
    ws.on("message", (data: Buffer, isBinary: boolean) => this.onMessage(isBinary ? data : data.toString("utf8")));
    ws.on("ping", () => this.pings++);
    ws.on("error", () => undefined);
    ws.on("close", (code: number, reason: Buffer) => this.onClose(code, reason.toString()));
  }

  /** Open a WebSocket to `url`; rejects with the HTTP status when the upgrade is refused. */
  static open(url: string, opts: WsClientOptions = {}): Promise<WsChatClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { origin: opts.origin, autoPong: opts.autoPong ?? true, maxPayload: opts.maxPayload ?? 16 * 1024 * 1024, perMessageDeflate: false });
      const c = new WsChatClient(ws, opts);
      ws.once("open", () => resolve(c));
      ws.once("unexpected-response", (_req, res) => {
        reject(Object.assign(new Error(`upgrade refused: HTTP ${res.statusCode}`), { status: res.statusCode }));
        ws.terminate();
      });
      ws.once("error", reject);
    });
  }

  /** Send a request with a fresh id; resolves with the reply (`OK` args are the results), rejects with the ImError of an ERR. */
  request(name: string, args: string[] = []): Promise<Command> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "connection closed"));
        return;
      }
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ImError(ErrorCode.IM_ERR_TIMEOUT, `no reply to ${name} (id ${id}) within ${this.opts.requestTimeoutMs} ms`));
      }, this.opts.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(encodeJsonRequest({ name, args, id }));
    });
  }

  /** Send without waiting; the reply comes as a "reply" event (Command, id). */
  send(name: string, args: string[] = []): void {
    if (this.closed) return;
    this.ws.send(encodeJsonRequest({ name, args, id: `f${this.nextId++}` }));
  }

  /** Exact bytes: a text message (string) or a binary one (Buffer). */
  raw(data: string | Buffer): void {
    this.ws.send(data, { binary: Buffer.isBuffer(data) });
  }

  async login(id: string, token?: string): Promise<void> {
    this.clientId = id;
    await this.request(Cmd.SEND_CLIENT_ID, token ? [id, token] : [id]);
  }

  async sendP2P(to: string, body: string, cmid?: string): Promise<{ uuid: string; seq: number }> {
    const r = await this.request(Cmd.SEND_MESSAGE_P2P, cmid ? [to, body, this.clientId, cmid] : [to, body]);
    return { uuid: r.args[0] ?? "", seq: Number(r.args[1]) };
  }

  async sendTopic(topic: string, body: string, cmid?: string): Promise<{ uuid: string; seq: number }> {
    const r = await this.request(Cmd.SEND_MESSAGE_TOPIC, cmid ? [topic, body, cmid] : [topic, body]);
    return { uuid: r.args[0] ?? "", seq: Number(r.args[1]) };
  }

  /** Resolves when the server has closed the connection. */
  waitClosed(timeoutMs = 5000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
      this.once("close", () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.ws.terminate();
    this.onClose(null, "");
  }

  private onMessage(data: string | Buffer): void {
    if (typeof data !== "string") {
      this.emit("error-frame", new Error("binary message from the server"));
      return;
    }
    const m = decodeJsonServerMessage(data);
    this.received.push(m);
    if (m.kind === "push") {
      this.onPush(m.push);
      return;
    }
    const p = m.id === null ? undefined : this.pending.get(m.id as number);
    if (p) {
      this.pending.delete(m.id as number);
      clearTimeout(p.timer);
      if (m.reply.name === Cmd.ERR) p.reject(errorFromReply(m.reply.args));
      else p.resolve(m.reply);
    } else if (m.id === null) {
      this.notices.push(m.reply);
      this.emit("notice", m.reply);
    } else this.emit("reply", m.reply, m.id);
  }

  private onPush(cmd: Command): void {
    if (cmd.name === Cmd.RESP_MESSAGE_P2P) {
      const [body = "", from = "", uuid = "", seq, ts] = cmd.args;
      const m: P2PMessage = { body, from, uuid, seq: Number(seq ?? 0), ts: Number(ts ?? 0) };
      if (this.opts.autoAck) this.send(Cmd.P2P_ACK, [this.clientId, uuid]);
      this.emit("p2p", m);
      return;
    }
    if (cmd.name === Cmd.RESP_MESSAGE_TOPIC) {
      const [topic = "", body = "", from = "", uuid = "", seq = "0", ts] = cmd.args;
      const m: TopicMessage = { topic, body, from, uuid, seq: Number(seq), ts: Number(ts ?? 0) };
      if (this.opts.autoAck) this.send(Cmd.TOPIC_ACK, [topic, seq]);
      this.emit("topic", m);
      return;
    }
    this.emit("push", cmd);
  }

  private onClose(code: number | null, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeCode = code;
    this.closeReason = reason;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "connection closed"));
    }
    this.pending.clear();
    this.emit("close", null);
  }
}
