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
 *
 * `--transport ws` gives the "json" codec: the same commands as JSON text messages over a
 * WebSocket (docs/PROTOCOL.md "WebSocket"), logged in through the gateway's GET /v1/endpoint.
 * Replies are matched by order there too (the server answers in order); ids are left out.
 */
import { connect, type Socket } from "node:net";
import { WebSocket } from "ws";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { Cmd, type Command } from "../../shared/protocol/commands.js";
import { Decoder, encode, type CodecKind } from "../../shared/protocol/codec.js";
import { parseLine } from "../../shared/protocol/line-codec.js";
import { decodeJsonServerMessage, encodeJsonRequest } from "../../shared/protocol/json-dialect.js";
import { splitHostPort } from "../../shared/config/common.js";

/** The TCP codecs, plus "json": the WebSocket dialect (`--transport ws`). */
export type BenchCodec = CodecKind | "json";

/** What a BenchConn writes to: a TCP socket, or a WebSocket adapted to the same three calls. */
interface Wire {
  write(data: string | Buffer, cb?: (err?: Error | null) => void): unknown;
  destroy(): void;
  readonly destroyed: boolean;
}

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
    private readonly socket: Wire,
    readonly codec: BenchCodec,
    readonly addr: string,
  ) {}

  static open(addr: string, codec: CodecKind, localAddress?: string): Promise<BenchConn> {
    const { host, port } = splitHostPort(addr);
    return new Promise((resolve, reject) => {
      const s = benchTlsCa ? tlsConnect({ host, port, ca: benchTlsCa, ...(localAddress ? { localAddress } : {}) } as ConnectionOptions) : connect({ host, port, localAddress });
      s.once("error", reject);
      s.once(benchTlsCa ? "secureConnect" : "connect", () => {
        s.off("error", reject);
        const c = new BenchConn(s, codec, addr);
        s.setNoDelay(true);
        s.on("data", (chunk: Buffer) => c.onData(chunk));
        s.on("error", () => undefined);
        s.on("close", () => c.onClose(null));
        resolve(c);
      });
    });
  }

  /** A WebSocket to a msg_server's ws URL, speaking the JSON dialect; `addr` is that server's TCP address (its identity in reports). */
  static openWs(url: string, addr: string, localAddress?: string): Promise<BenchConn> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { localAddress, perMessageDeflate: false, maxPayload: MAX_INBOUND_BYTES });
      ws.once("error", reject);
      ws.once("open", () => {
        ws.off("error", reject);
        // ws writes each message with its own socket write; corking its socket (internal, but
        // stable across ws 8) turns a flush of many messages into one system call, as on TCP.
        const raw = (ws as unknown as { _socket?: Socket })._socket;
        const wire: Wire = {
          write(data) {
            const text = typeof data === "string" ? data : data.toString();
            raw?.cork();
            for (let i = 0, nl = text.indexOf("\n"); nl !== -1; i = nl + 1, nl = text.indexOf("\n", i)) ws.send(text.slice(i, nl));
            raw?.uncork();
          },
          destroy: () => ws.terminate(),
          get destroyed() {
            return ws.readyState !== WebSocket.OPEN;
          },
        };
        const c = new BenchConn(wire, "json", addr);
        ws.on("message", (data: Buffer) => c.onMessage(data.toString()));
        ws.on("error", () => undefined);
        ws.on("close", () => c.onClose(null));
        resolve(c);
      });
    });
  }

  get pendingReplies(): number {
    return this.kinds.length - this.head;
  }

  /** A command whose reply goes to handlers.onReply with (kind, a, b). Line codec only expects one. */
  send(kind: Kind, line: string, cmd: Command | null, a = 0, b = 0): void {
    if (this.closed) return;
    const answered = this.codec !== "packet" || kind === Kind.REQ || kind === Kind.JOIN;
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
    if (this.codec === "json") {
      // One JSON request per line; the wire sends each as its own message.
      const text = `${encodeJsonRequest(cmd ?? parseLine(line!.slice(0, -1)))}\n`;
      this.outText += text;
      this.outBytes += text.length;
    } else if (this.codec === "line") {
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
    if (this.codec !== "packet") {
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

  /** One WebSocket message (json codec). */
  private onMessage(text: string): void {
    let m: ReturnType<typeof decodeJsonServerMessage>;
    try {
      m = decodeJsonServerMessage(text);
    } catch {
      this.protocolErrors++;
      return;
    }
    if (m.kind === "reply" && this.head < this.kinds.length) this.onReplyItem(m.reply);
    else this.handlers.onPush(this, m.kind === "push" ? m.push : m.reply);
    // ws emits a socket read's messages synchronously: end the "chunk" after the last of them,
    // so cumulative acks (TOPIC_ACK) go out once per read as on TCP, not once per message.
    if (!this.chunkEndQueued) {
      this.chunkEndQueued = true;
      queueMicrotask(this.chunkEnd);
    }
  }

  private chunkEndQueued = false;
  private readonly chunkEnd = () => {
    this.chunkEndQueued = false;
    if (!this.closed) this.handlers.onChunkEnd?.(this);
  };

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

/** With --tls: the CA the target's certificates chain to; every bench connection is TLS then. */
let benchTlsCa: Buffer | null = null;

export function setBenchTls(ca: Buffer | null): void {
  benchTlsCa = ca;
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
export async function loginThroughGateway(gateway: string, clientId: string, codec: BenchCodec, localAddress?: string): Promise<BenchConn> {
  let c: BenchConn;
  if (codec === "json") {
    const e = await wsEndpoint(gateway);
    c = await BenchConn.openWs(e.ws, e.tcp, localAddress);
  } else c = await BenchConn.open(await askGateway(gateway, codec, localAddress), codec, localAddress);
  const addr = c.addr;
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

/** GET /v1/endpoint of the gateway's HTTP listener (json codec): the msg_server it hands out. */
export async function wsEndpoint(gatewayHttp: string): Promise<{ ws: string; tcp: string }> {
  const res = await fetch(`http://${gatewayHttp}/v1/endpoint`);
  const body = (await res.json()) as { ws?: string | null; tcp?: string; error?: { code: string; message: string } };
  if (res.status !== 200 || !body.ws || !body.tcp) throw new Error(`gateway ${gatewayHttp} /v1/endpoint: HTTP ${res.status} ${body.error?.code ?? ""} ${body.error?.message ?? ""}`.trim());
  return { ws: body.ws, tcp: body.tcp };
}
