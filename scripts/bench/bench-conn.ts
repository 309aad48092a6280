/**
 * A lean client connection for the load generator. shared/client/client.ts is the general client
 * (a Promise, a timer and an object per request); at tens of thousands of messages per second on
 * a 2-core box that cost lands on the same CPUs as the servers under test, so this one keeps
 * pending replies in parallel number arrays, writes one coalesced string per event-loop turn
 * (nats.js style) and hands decoded commands straight to scenario callbacks.
 *
 * Replies (line codec) come in request order, pushes interleave: every command that will be
 * answered enqueues a Kind, and the next OK/ERR/LOCATE/SELECT line is matched to the queue head.
 * The packet codec answers nothing but REQ_MSG_SERVER and JOIN_TOPIC, so there a send counts as
 * acknowledged once the kernel took its bytes (the socket write callback).
 */
import { connect, type Socket } from "node:net";
import { Cmd, type Command } from "../../shared/protocol/commands.js";
import { Decoder, encode, type CodecKind } from "../../shared/protocol/codec.js";
import { splitHostPort } from "../../shared/config/common.js";

export const Kind = { LOGIN: 1, SEND: 2, P2P_ACK: 3, TOPIC_ACK: 4, CREATE: 5, JOIN: 6, PING: 7, REQ: 8 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

const REPLY_NAMES = new Set<string>([Cmd.OK, Cmd.ERR, Cmd.LOCATE_TOPIC_MSG_ADDR, Cmd.SELECT_MSG_SERVER_FOR_CLIENT]);
/** Client decoder limit: generous, the server bounds what it sends. */
const MAX_INBOUND_BYTES = 1024 * 1024;
/** Flush inline past this many pending bytes instead of waiting for the end of the turn. */
const FLUSH_THRESHOLD_BYTES = 64 * 1024;

type Waiter = (reply: Command) => void;

export interface ConnHandlers {
  /** A reply to a command sent with `a` and `b` (scenario-defined numbers, e.g. seq and send time). */
  onReply(conn: BenchConn, kind: Kind, a: number, b: number, reply: Command): void;
  onPush(conn: BenchConn, cmd: Command): void;
  /** After every inbound chunk: the place for cumulative acks (TOPIC_ACK). */
  onChunkEnd?(conn: BenchConn): void;
  onClose?(conn: BenchConn, err: Error | null): void;
}

export const NO_HANDLERS: ConnHandlers = { onReply() {}, onPush() {} };

export class BenchConn {
  /** Scenario's index of the client on this connection. */
  idx = -1;
  clientId = "";
  closed = false;
  protocolErrors = 0;
  handlers: ConnHandlers = NO_HANDLERS;
  private readonly decoder = new Decoder({ maxLineBytes: MAX_INBOUND_BYTES, maxFrameBytes: MAX_INBOUND_BYTES });
  private kinds: number[] = [];
  private as: number[] = [];
  private bs: number[] = [];
  private waiters: (Waiter | null)[] = [];
  private head = 0;
  private outText = "";
  private outBufs: Buffer[] = [];
  private outBytes = 0;
  private flushQueued = false;
  /** Packet codec: sends written since the last flush, acknowledged by that flush's callback. */
  private unflushed: number[] = [];
  private readonly flushNow = () => this.flush();

  private constructor(
    readonly socket: Socket,
    readonly codec: CodecKind,
    readonly addr: string,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => this.onClose(null));
  }

  static open(addr: string, codec: CodecKind, localAddress?: string): Promise<BenchConn> {
    const { host, port } = splitHostPort(addr);
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, localAddress });
      s.once("error", reject);
      s.once("connect", () => {
        s.off("error", reject);
        resolve(new BenchConn(s, codec, addr));
      });
    });
  }

  get pendingReplies(): number {
    return this.kinds.length - this.head;
  }

  /** A command whose reply goes to handlers.onReply with (kind, a, b). Line codec only expects one. */
  send(kind: Kind, line: string, cmd: Command | null, a = 0, b = 0): void {
    if (this.closed) return;
    const answered = this.codec === "line" || kind === Kind.REQ || kind === Kind.JOIN;
    if (answered) this.enqueue(kind, a, b, null);
    else if (kind === Kind.SEND) this.unflushed.push(a, b);
    this.write(line, cmd);
  }

  /** Send and wait for the reply (set-up commands: login, create, join). */
  request(kind: Kind, cmd: Command): Promise<Command> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error(`connection to ${this.addr} closed`));
        return;
      }
      this.enqueue(kind, 0, 0, resolve);
      this.write(null, cmd);
    });
  }

  /** Fire and forget (packet codec set-up commands, which have no reply). */
  post(cmd: Command): void {
    this.write(null, cmd);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.socket.destroy();
    this.onClose(null);
  }

  /** `line` is the pre-formatted line-codec text (hot path); `cmd` is used for the packet codec or when line is null. */
  private write(line: string | null, cmd: Command | null): void {
    if (this.codec === "line") {
      const text = line ?? (encode("line", cmd!) as string);
      this.outText += text;
      this.outBytes += text.length;
    } else {
      const buf = encode("packet", cmd!) as Buffer;
      this.outBufs.push(buf);
      this.outBytes += buf.length;
    }
    if (this.outBytes >= FLUSH_THRESHOLD_BYTES) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushNow);
    }
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.outBytes === 0 || this.socket.destroyed) return;
    this.outBytes = 0;
    if (this.codec === "line") {
      this.socket.write(this.outText);
      this.outText = "";
      return;
    }
    const data = this.outBufs.length === 1 ? this.outBufs[0]! : Buffer.concat(this.outBufs);
    this.outBufs = [];
    const written = this.unflushed;
    if (written.length === 0) {
      this.socket.write(data);
      return;
    }
    this.unflushed = [];
    const ok: Command = { name: Cmd.OK, args: [Cmd.SEND_MESSAGE_P2P, "", ""] };
    this.socket.write(data, (err) => {
      if (err) return;
      for (let i = 0; i < written.length; i += 2) this.handlers.onReply(this, Kind.SEND, written[i]!, written[i + 1]!, ok);
    });
  }

  private enqueue(kind: number, a: number, b: number, w: Waiter | null): void {
    this.kinds.push(kind);
    this.as.push(a);
    this.bs.push(b);
    this.waiters.push(w);
  }

  private onData(chunk: Buffer): void {
    let items: ReturnType<Decoder["push"]>;
    try {
      items = this.decoder.push(chunk);
    } catch (err) {
      this.protocolErrors++;
      this.socket.destroy();
      this.onClose(err as Error);
      return;
    }
    for (const item of items) {
      if (item instanceof Error) {
        this.protocolErrors++;
        continue;
      }
      if (REPLY_NAMES.has(item.name) && this.head < this.kinds.length) this.onReplyItem(item);
      else this.handlers.onPush(this, item);
    }
    this.handlers.onChunkEnd?.(this);
  }

  private onReplyItem(reply: Command): void {
    const i = this.head++;
    const kind = this.kinds[i] as Kind;
    const w = this.waiters[i];
    if (w) w(reply);
    else this.handlers.onReply(this, kind, this.as[i]!, this.bs[i]!, reply);
    // Compact now and then rather than shift() per reply (O(n) each).
    if (this.head >= 4096 && this.head * 2 >= this.kinds.length) {
      this.kinds = this.kinds.slice(this.head);
      this.as = this.as.slice(this.head);
      this.bs = this.bs.slice(this.head);
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
  }

  private onClose(err: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    const closedReply: Command = { name: Cmd.ERR, args: ["IM_ERR_UNAVAILABLE", "connection closed"] };
    for (let i = this.head; i < this.waiters.length; i++) this.waiters[i]?.(closedReply);
    this.handlers.onClose?.(this, err);
  }
}

/**
 * REQ_MSG_SERVER through the gateway: the msg_server address it hands out (the gateway then
 * closes, as v1's does).
 */
export async function askGateway(gateway: string, codec: CodecKind, localAddress?: string): Promise<string> {
  const c = await BenchConn.open(gateway, codec, localAddress);
  try {
    const r = await c.request(Kind.REQ, { name: Cmd.REQ_MSG_SERVER, args: [] });
    if (r.name !== Cmd.SELECT_MSG_SERVER_FOR_CLIENT || !r.args[0]) throw new Error(`gateway answered ${r.name} ${r.args.join(" ")}`);
    return r.args[0];
  } finally {
    c.close();
  }
}

/** Where login tokens come from for the target being measured (unset: no token is sent, as for a build without tokens). */
let tokenFor: ((clientId: string) => Promise<string>) | null = null;
const minted = new Map<string, string>();

export function setTokenSource(fn: ((clientId: string) => Promise<string>) | null): void {
  tokenFor = fn;
  minted.clear();
}

/** Mint the tokens of these ids now, so a timed login measures the server, not the signing. */
export async function premintTokens(ids: readonly string[]): Promise<void> {
  if (!tokenFor) return;
  for (const id of ids) if (!minted.has(id)) minted.set(id, await tokenFor(id));
}

async function tokenOf(clientId: string): Promise<string> {
  if (!tokenFor) return "";
  let t = minted.get(clientId);
  if (t === undefined) minted.set(clientId, (t = await tokenFor(clientId)));
  return t;
}

/**
 * Log a client in the way real clients do: ask the gateway, connect to the msg_server it names,
 * SEND_CLIENT_ID. The line codec waits for the OK; the packet codec has none, so there the login
 * counts as done once written (the caller waits a settle period before relying on it).
 */
export async function loginThroughGateway(gateway: string, clientId: string, codec: CodecKind, localAddress?: string): Promise<BenchConn> {
  const addr = await askGateway(gateway, codec, localAddress);
  const c = await BenchConn.open(addr, codec, localAddress);
  c.clientId = clientId;
  const token = await tokenOf(clientId);
  const cmd: Command = { name: Cmd.SEND_CLIENT_ID, args: token ? [clientId, token] : [clientId] };
  if (codec === "packet") {
    c.post(cmd);
    return c;
  }
  const r = await c.request(Kind.LOGIN, cmd);
  if (r.name !== Cmd.OK) {
    c.close();
    throw new Error(`login of ${clientId} at ${addr}: ${r.name} ${r.args.join(" ")}`);
  }
  return c;
}
