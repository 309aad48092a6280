import type { Socket } from "node:net";
import type { Logger } from "../log/logger.js";
import { Cmd, type Command } from "../protocol/commands.js";
import { Decoder, encode, type CodecKind, type Limits } from "../protocol/codec.js";
import { ErrorCode, ImError, ProtocolError } from "../errors.js";
import { truncate } from "../log/logger.js";

export interface ConnectionOptions<S> {
  limits: Limits;
  log: Logger;
  /** Bytes queued for this socket (ours plus the kernel-side write buffer Node keeps) before it counts as a slow consumer. */
  maxOutboundBytes: number;
  /** Replies awaiting an async handler before we stop reading from the socket (inbound backpressure). */
  maxInflight: number;
  /** Codec for what we send before the peer has sent anything (outgoing links). */
  initialCodec?: CodecKind;
  /** Turn on TCP keepalive (outgoing links). */
  keepAlive?: boolean;
  state: S;
  onCommand(conn: Connection<S>, cmd: Command): void;
  onClose(conn: Connection<S>, reason: ImError | null): void;
}

type Reply = Command | null;
interface Slot {
  done: boolean;
  value: Reply;
}

let connCounter = 0;

/** Flush pending output at this size without waiting for the end of the tick (nats uses 32 KiB). */
const FLUSH_THRESHOLD_BYTES = 64 * 1024;
/** After `end()`, how long a peer gets to read our last words before the socket is destroyed. */
const CLOSE_LINGER_MS = 1000;

/**
 * One TCP connection speaking either codec: framing and decoding in, ordered replies and
 * coalesced writes out, with bounds on both sides. Knows nothing about commands' meaning.
 */
export class Connection<S = unknown> {
  readonly id = `c-${(++connCounter).toString(36)}`;
  private childLog: Logger | null = null;
  private peer: string | null = null;
  readonly state: S;
  lastInboundMs = Date.now();
  /** Outbound bound in bytes; raised for a connection that turns out to be an internal link. */
  maxOutboundBytes: number;
  /** Last time the kernel buffer drained (or the connection opened): detects frozen readers. */
  lastDrainMs = Date.now();
  closed = false;
  closeReason: ImError | null = null;

  private readonly socket: Socket;
  private readonly opts: ConnectionOptions<S>;
  private readonly decoder: Decoder;
  private outKind: CodecKind | null;
  private outText = "";
  private outBufs: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private readonly slots: Slot[] = [];
  private paused = false;

  constructor(socket: Socket, opts: ConnectionOptions<S>) {
    this.socket = socket;
    this.opts = opts;
    this.state = opts.state;
    this.maxOutboundBytes = opts.maxOutboundBytes;
    this.decoder = new Decoder(opts.limits);
    this.outKind = opts.initialCodec ?? null;
    socket.setNoDelay(true);
    // TCP keepalive only where nothing else notices a dead peer: clients are covered by the idle
    // timeout, links by their pings. (One setsockopt less per login.)
    if (opts.keepAlive) socket.setKeepAlive(true, 30_000);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => {
      this.lastDrainMs = Date.now();
    });
    socket.on("error", (err) => {
      if (this.opts.log.isLevelEnabled("debug")) this.log.debug({ err }, "socket error");
    });
    socket.on("close", () => this.onSocketClose());
  }

  /**
   * This connection's child logger, created on first use: most connections never log, and a
   * pino child per connection cost measurable time per login and memory per idle connection.
   */
  get log(): Logger {
    this.childLog ??= this.opts.log.child({ conn: this.id, remote: this.remoteAddr });
    return this.childLog;
  }

  /** "ip:port" of the peer, read from the socket on first use (getpeername is a system call). */
  get remoteAddr(): string {
    this.peer ??= `${this.socket.remoteAddress ?? "?"}:${this.socket.remotePort ?? 0}`;
    return this.peer;
  }

  get codec(): CodecKind | null {
    return this.outKind ?? this.decoder.kind;
  }

  /** Bytes waiting to reach the peer: ours not yet handed to the socket plus the socket's own buffer. */
  get outboundBytes(): number {
    return this.outBytes + this.socket.writableLength;
  }

  /** Send a command now (pushes, broadcasts). Returns false when the connection is closed or was just closed as a slow consumer. */
  send(cmd: Command): boolean {
    if (this.closed) return false;
    return this.sendEncoded(encode(this.codec ?? "line", cmd));
  }

  /**
   * Send bytes already encoded for this connection's codec (see `codec`): a topic message going
   * to many members is formatted once, not once per member.
   */
  sendEncoded(data: string | Buffer): boolean {
    if (this.closed) return false;
    const size = data.length;
    if (this.outBytes + this.socket.writableLength + size > this.maxOutboundBytes) {
      this.close(new ImError(ErrorCode.IM_ERR_SLOW_CONSUMER, "peer does not read fast enough; reconnect to resume"));
      return false;
    }
    if (typeof data === "string") this.outText += data;
    else this.outBufs.push(data);
    this.outBytes += size;
    if (this.outBytes >= FLUSH_THRESHOLD_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      scheduleFlush(this);
    }
    return true;
  }

  /**
   * Answer the command being handled. Replies go out in the order commands arrived, even when a
   * later command's handler finishes first (pipelining, as Redis does).
   */
  reply(value: Reply | Promise<Reply>): void {
    if (!(value instanceof Promise)) {
      if (this.slots.length === 0) {
        this.emitReply(value);
        return;
      }
      this.slots.push({ done: true, value });
      this.drainSlots();
      return;
    }
    const slot: Slot = { done: false, value: null };
    this.slots.push(slot);
    if (!this.paused && this.slots.length >= this.opts.maxInflight) {
      this.paused = true;
      this.socket.pause();
    }
    value.then(
      (v) => {
        slot.done = true;
        slot.value = v;
        this.drainSlots();
      },
      (err: unknown) => {
        slot.done = true;
        slot.value = errorReply(err);
        if (!(err instanceof ImError)) this.log.error({ err }, "handler failed");
        this.drainSlots();
      },
    );
  }

  /** Close, telling a line-mode peer why (`ERR <code> <message>`). Packet peers only see the close: v1 has no error frame. */
  close(reason?: ImError): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason ?? null;
    if (reason && this.codec !== "packet") {
      this.outText += encode("line", errorReply(reason)) as string;
    }
    this.flush();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS).unref();
  }

  /** Drop the socket at once (process shutdown, tests). */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.lastInboundMs = Date.now();
    let items: (Command | ProtocolError)[];
    try {
      items = this.decoder.push(chunk);
    } catch (err) {
      const e = err instanceof ImError ? err : new ProtocolError(ErrorCode.IM_ERR_BAD_FRAME, String(err));
      this.log.info({ code: e.code, detail: e.message }, "protocol error; closing");
      this.close(e);
      return;
    }
    for (const item of items) {
      if (this.closed) return;
      if (item instanceof ProtocolError) {
        // A malformed line costs only that line; a malformed frame closed the connection above.
        this.log.debug({ code: item.code }, "bad line");
        this.reply(errorReply(item));
        continue;
      }
      if (this.log.isLevelEnabled("trace")) this.log.trace({ cmd: item.name, args: truncate(item.args.join(" ")) }, "in");
      try {
        this.opts.onCommand(this, item);
      } catch (err) {
        this.reply(errorReply(err));
        if (!(err instanceof ImError)) this.log.error({ err, cmd: item.name }, "handler threw");
      }
    }
  }

  private drainSlots(): void {
    while (this.slots.length > 0 && this.slots[0]!.done) {
      this.emitReply(this.slots.shift()!.value);
    }
    if (this.paused && this.slots.length < this.opts.maxInflight / 2 && !this.closed) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /**
   * v1 clients treat every inbound frame as a message, so OK and ERR replies exist only in line
   * mode; on a packet connection an error is logged instead.
   */
  private emitReply(v: Reply): void {
    if (!v) return;
    if (this.codec === "packet" && (v.name === Cmd.OK || v.name === Cmd.ERR)) {
      if (v.name === Cmd.ERR) this.log.info({ code: v.args[0], detail: v.args[1] }, "error (not sent: packet codec)");
      return;
    }
    this.send(v);
  }

  /** Write what is queued now. Public for the shared flush loop; callers normally just send(). */
  flush(): void {
    this.flushScheduled = false;
    if (this.outBytes === 0 && this.outText.length === 0) return;
    if (this.socket.destroyed) {
      this.outText = "";
      this.outBufs = [];
      this.outBytes = 0;
      return;
    }
    const wasEmpty = this.socket.writableLength === 0;
    if (this.outText.length > 0) {
      this.socket.write(this.outText);
      this.outText = "";
    }
    if (this.outBufs.length > 0) {
      this.socket.write(this.outBufs.length === 1 ? this.outBufs[0]! : Buffer.concat(this.outBufs));
      this.outBufs = [];
    }
    this.outBytes = 0;
    if (wasEmpty) this.lastDrainMs = Date.now();
  }

  private onSocketClose(): void {
    this.closed = true;
    this.slots.length = 0;
    this.opts.onClose(this, this.closeReason);
  }
}

/**
 * Connections with output waiting, flushed together once per event-loop turn (setImmediate, after
 * every I/O callback of the turn has run). Compared with a flush per microtask checkpoint this
 * merges a turn's replies and pushes into one write() per socket: fewer system calls under load
 * (see BENCHMARKS.md), at the cost of at most one loop turn of latency.
 */
const dirty = new Set<{ flush(): void }>();
let flushQueued = false;

function scheduleFlush(c: { flush(): void }): void {
  dirty.add(c);
  if (!flushQueued) {
    flushQueued = true;
    setImmediate(flushAll);
  }
}

function flushAll(): void {
  flushQueued = false;
  for (const c of dirty) c.flush();
  dirty.clear();
}

/** The line-mode reply for an error: `ERR <code> <message>`. */
export function errorReply(err: unknown): Command {
  if (err instanceof ImError) return { name: Cmd.ERR, args: [err.code, err.message] };
  return { name: Cmd.ERR, args: [ErrorCode.IM_ERR_INTERNAL, "internal error"] };
}

export function okReply(command: string, ...results: string[]): Command {
  return { name: Cmd.OK, args: [command, ...results] };
}
