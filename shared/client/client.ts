import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { Cmd, type Command } from "../protocol/commands.js";
import { Decoder, encode, type CodecKind } from "../protocol/codec.js";
import { ErrorCode, ImError, errorFromReply } from "../errors.js";
import { splitHostPort } from "../config/common.js";

/** Names that answer a request (line mode); everything else is a push. */
const REPLY_NAMES = new Set<string>([Cmd.OK, Cmd.ERR, Cmd.LOCATE_TOPIC_MSG_ADDR, Cmd.SELECT_MSG_SERVER_FOR_CLIENT]);

export interface P2PMessage {
  body: string;
  from: string;
  uuid: string;
  seq: number;
  ts: number;
}

export interface TopicMessage {
  topic: string;
  body: string;
  from: string;
  uuid: string;
  seq: number;
  ts: number;
}

export interface ClientOptions {
  codec?: CodecKind;
  /** Acknowledge every p2p message (P2P_ACK) and topic message (TOPIC_ACK) on receipt. */
  autoAck?: boolean;
  /** SEND_PING interval; 0 disables (v1 clients use 20 s). */
  heartbeatMs?: number;
  /** Reject a pending request after this long. */
  requestTimeoutMs?: number;
  maxLineBytes?: number;
  /** Connect with TLS: options for tls.connect (ca, cert/key, servername); host and port come from the address. */
  tls?: ConnectionOptions;
}

const DEFAULTS = { codec: "line" as CodecKind, autoAck: true, heartbeatMs: 20_000, requestTimeoutMs: 10_000, maxLineBytes: 16 * 1024 * 1024, tls: undefined as ConnectionOptions | undefined };

/** A reply we are waiting for; `null` marks a command sent with send() whose reply is only surfaced as a "reply" event. */
interface Pending {
  resolve(cmd: Command): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  timedOut: boolean;
}

/** Ask a gateway for a msg_server (REQ_MSG_SERVER -> SELECT_MSG_SERVER_FOR_CLIENT). */
export async function requestMsgServer(gateway: string, codec: CodecKind = "line", timeoutMs = 5000, tls?: ConnectionOptions): Promise<string> {
  const c = new FishChatClient({ codec, heartbeatMs: 0, requestTimeoutMs: timeoutMs, tls });
  await c.connect(gateway);
  try {
    const reply = await c.request({ name: Cmd.REQ_MSG_SERVER, args: [] }, { expectReply: true });
    if (reply.name !== Cmd.SELECT_MSG_SERVER_FOR_CLIENT || !reply.args[0]) throw new ImError(ErrorCode.IM_ERR_NO_MSG_SERVER, "gateway gave no msg_server");
    return reply.args[0];
  } finally {
    c.close();
  }
}

/**
 * A FishChat client over TCP in either codec: the building block of client_p2p, client_topic,
 * the integration tests and the benchmark. Events: "p2p" (P2PMessage), "topic" (TopicMessage),
 * "push" (any other unsolicited command), "close" (Error | null).
 */
export class FishChatClient extends EventEmitter {
  readonly opts: Required<Omit<ClientOptions, "tls">> & Pick<ClientOptions, "tls">;
  clientId = "";
  addr = "";
  private socket: Socket | null = null;
  private decoder: Decoder;
  /** One entry per command that will get a reply, in send order (line mode answers in order). */
  private readonly pending: (Pending | null)[] = [];
  private heartbeat: NodeJS.Timeout | null = null;
  private out: string[] = [];
  private outBufs: Buffer[] = [];
  private flushQueued = false;
  closed = false;

  constructor(opts: ClientOptions = {}) {
    super();
    this.opts = { ...DEFAULTS, ...opts };
    this.decoder = new Decoder({ maxLineBytes: this.opts.maxLineBytes, maxFrameBytes: this.opts.maxLineBytes });
  }

  connect(addr: string, localAddress?: string): Promise<void> {
    this.addr = addr;
    const { host, port } = splitHostPort(addr);
    return new Promise((resolve, reject) => {
      const tlsOpts = this.opts.tls;
      // A TLS socket's localAddress goes on its underlying TCP connect.
      const s: Socket = tlsOpts ? tlsConnect({ ...tlsOpts, host, port, ...(localAddress ? { localAddress } : {}) } as ConnectionOptions) : connect({ host, port, localAddress });
      this.socket = s;
      s.setNoDelay(true);
      s.once(tlsOpts ? "secureConnect" : "connect", () => {
        s.off("error", reject);
        s.on("error", () => undefined);
        resolve();
      });
      s.once("error", reject);
      s.on("data", (chunk: Buffer) => this.onData(chunk));
      s.on("close", () => this.onClose(null));
    });
  }

  /**
   * Log in: SEND_CLIENT_ID <id> [token]. Line mode waits for the OK; packet mode (no reply in v1)
   * resolves once written.
   */
  async login(clientId: string, token?: string): Promise<void> {
    this.clientId = clientId;
    const args = token ? [clientId, token] : [clientId];
    if (this.opts.codec === "line") await this.request({ name: Cmd.SEND_CLIENT_ID, args });
    else this.write({ name: Cmd.SEND_CLIENT_ID, args });
    if (this.opts.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.send({ name: Cmd.SEND_PING, args: ["PING"] }), this.opts.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /** Send without waiting. In line mode its reply is emitted as a "reply" event (ERR included). */
  send(cmd: Command): void {
    if (this.closed || !this.socket) return;
    if (this.opts.codec === "line") this.pending.push(null);
    this.write(cmd);
  }

  private write(cmd: Command): void {
    if (this.closed || !this.socket) return;
    const data = encode(this.opts.codec, cmd);
    if (typeof data === "string") this.out.push(data);
    else this.outBufs.push(data);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /**
   * Send and wait for the reply (line mode; replies arrive in request order). ERR rejects with an
   * ImError carrying the code.
   */
  request(cmd: Command, o: { expectReply?: boolean } = {}): Promise<Command> {
    if (this.opts.codec === "packet" && !o.expectReply) {
      return Promise.reject(new Error("packet codec has no replies for this command"));
    }
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "connection closed"));
        return;
      }
      // The entry stays queued after a timeout so the late reply is matched to it and dropped.
      const entry: Pending = {
        resolve,
        reject,
        timedOut: false,
        timer: setTimeout(() => {
          entry.timedOut = true;
          reject(new ImError(ErrorCode.IM_ERR_TIMEOUT, `no reply to ${cmd.name} within ${this.opts.requestTimeoutMs} ms`));
        }, this.opts.requestTimeoutMs),
      };
      this.pending.push(entry);
      this.write(cmd);
    });
  }

  /** SEND_MESSAGE_P2P; resolves with the stored message's uuid and seq. */
  async sendP2P(to: string, body: string, cmid?: string): Promise<{ uuid: string; seq: number }> {
    const args = cmid ? [to, body, this.clientId, cmid] : [to, body];
    const r = await this.request({ name: Cmd.SEND_MESSAGE_P2P, args });
    return { uuid: r.args[1] ?? "", seq: Number(r.args[2]) };
  }

  async sendTopic(topic: string, body: string, cmid?: string): Promise<{ uuid: string; seq: number }> {
    const r = await this.request({ name: Cmd.SEND_MESSAGE_TOPIC, args: cmid ? [topic, body, cmid] : [topic, body] });
    return { uuid: r.args[1] ?? "", seq: Number(r.args[2]) };
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.socket?.end();
    this.socket?.destroy();
    this.onClose(null);
  }

  private flush(): void {
    this.flushQueued = false;
    if (!this.socket || this.socket.destroyed) return;
    if (this.out.length > 0) {
      this.socket.write(this.out.join(""));
      this.out = [];
    }
    if (this.outBufs.length > 0) {
      this.socket.write(Buffer.concat(this.outBufs));
      this.outBufs = [];
    }
  }

  private onData(chunk: Buffer): void {
    let items: ReturnType<Decoder["push"]>;
    try {
      items = this.decoder.push(chunk);
    } catch (err) {
      this.onClose(err as Error);
      this.socket?.destroy();
      return;
    }
    for (const item of items) {
      if (item instanceof Error) continue;
      this.onCommand(item);
    }
  }

  private onCommand(cmd: Command): void {
    if (cmd.name === Cmd.RESP_MESSAGE_P2P) {
      const [body = "", from = "", uuid = "", seq, ts] = cmd.args;
      const m: P2PMessage = { body, from, uuid, seq: Number(seq ?? 0), ts: Number(ts ?? 0) };
      if (this.opts.autoAck) this.send({ name: Cmd.P2P_ACK, args: [this.clientId, uuid] });
      this.emit("p2p", m);
      return;
    }
    if (cmd.name === Cmd.RESP_MESSAGE_TOPIC) {
      const [topic = "", body = "", from = "", uuid = "", seq, ts] = cmd.args;
      const m: TopicMessage = { topic, body, from, uuid, seq: Number(seq ?? 0), ts: Number(ts ?? 0) };
      if (this.opts.autoAck && this.opts.codec === "line" && seq !== undefined) this.send({ name: Cmd.TOPIC_ACK, args: [topic, seq] });
      this.emit("topic", m);
      return;
    }
    if (REPLY_NAMES.has(cmd.name) && this.pending.length > 0) {
      const p = this.pending.shift()!;
      if (p === null) {
        this.emit("reply", cmd);
        return;
      }
      clearTimeout(p.timer);
      if (p.timedOut) return;
      if (cmd.name === Cmd.ERR) p.reject(errorFromReply(cmd.args));
      else p.resolve(cmd);
      return;
    }
    // Unsolicited: pushes, and an ERR sent just before the server closes (kick, idle timeout).
    this.emit("push", cmd);
  }

  private onClose(err: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const p of this.pending.splice(0)) {
      if (!p || p.timedOut) continue;
      clearTimeout(p.timer);
      p.reject(err ?? new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "connection closed"));
    }
    this.emit("close", err);
  }
}
