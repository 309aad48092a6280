import type { Logger } from "../log/logger.js";
import { truncate } from "../log/logger.js";
import { Cmd, type Command } from "../protocol/commands.js";
import { Decoder, LINE } from "../protocol/codec.js";
import { errorReply, RejectedRequest, type Dialect, type FrameDecoder, type Limits } from "../protocol/dialect.js";
import { ErrorCode, ImError, ProtocolError } from "../errors.js";
import type { Transport, TransportHandlers } from "./transport.js";

export interface ConnectionOptions<S> {
  limits: Limits;
  log: Logger;
  /** Bytes queued for this connection (ours plus the transport's own buffer) before it counts as a slow consumer. */
  maxOutboundBytes: number;
  /** Replies awaiting an async handler before we stop reading from the transport (inbound backpressure). */
  maxInflight: number;
  /**
   * The dialect, when it is known before the peer sends anything (outgoing links: line; a
   * WebSocket: JSON). Otherwise it is detected from the first byte (line or v1 packet).
   */
  dialect?: Dialect;
  state: S;
  onCommand(conn: Connection<S>, cmd: Command): void;
  onClose(conn: Connection<S>, reason: ImError | null): void;
}

type Reply = Command | null;
interface Slot {
  /** The command this slot answers (its request id, for dialects that echo one). */
  request: Command | null;
  done: boolean;
  value: Reply;
}

let connCounter = 0;

/** Flush pending output at this size without waiting for the end of the tick (nats uses 32 KiB). */
const FLUSH_THRESHOLD_BYTES = 64 * 1024;
/** After `end()`, how long a peer gets to read our last words before the socket is destroyed. */
const CLOSE_LINGER_MS = 1000;

/**
 * One client or link connection over any transport, speaking one dialect: decoding in, ordered
 * replies and coalesced writes out, with bounds on both sides. Knows nothing about what the
 * commands mean, and nothing about sockets.
 */
export class Connection<S = unknown> {
  readonly id = `c-${(++connCounter).toString(36)}`;
  private childLog: Logger | null = null;
  private peer: string | null = null;
  readonly state: S;
  readonly openedAtMs = Date.now();
  lastInboundMs = this.openedAtMs;
  /** Outbound bound in bytes; raised for a connection that turns out to be an internal link. */
  maxOutboundBytes: number;
  /** Last time the transport drained (or the connection opened): detects frozen readers. */
  lastDrainMs = this.openedAtMs;
  closed = false;
  closeReason: ImError | null = null;

  private readonly transport: Transport;
  private readonly opts: ConnectionOptions<S>;
  private readonly decoder: FrameDecoder;
  /** Fixed dialect, or null while the auto-detecting decoder has not seen a byte. */
  private fixedDialect: Dialect | null;
  private outText = "";
  private outBufs: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private readonly slots: Slot[] = [];
  private paused = false;

  constructor(transport: Transport, opts: ConnectionOptions<S>) {
    this.transport = transport;
    this.opts = opts;
    this.state = opts.state;
    this.maxOutboundBytes = opts.maxOutboundBytes;
    this.fixedDialect = opts.dialect ?? null;
    this.decoder = opts.dialect ? opts.dialect.decoder(opts.limits) : new Decoder(opts.limits);
    transport.attach(new TransportEvents(this));
  }

  /**
   * This connection's child logger, created on first use: most connections never log, and a
   * pino child per connection cost measurable time per login and memory per idle connection.
   */
  get log(): Logger {
    this.childLog ??= this.opts.log.child({ conn: this.id, remote: this.remoteAddr });
    return this.childLog;
  }

  /** "ip:port" of the peer, read on first use (getpeername is a system call). */
  get remoteAddr(): string {
    this.peer ??= this.transport.remoteAddress();
    return this.peer;
  }

  get transportKind(): Transport["kind"] {
    return this.transport.kind;
  }

  /** Whether the peer presented a client certificate our CA signed (mutual TLS). */
  get peerCertified(): boolean {
    return this.transport.peerCertified?.() ?? false;
  }

  /** The connection's dialect; null until a TCP peer has sent its first byte. */
  get dialectOrNull(): Dialect | null {
    return this.fixedDialect ?? (this.decoder as Decoder).dialect ?? null;
  }

  /** The connection's dialect; the line protocol until a TCP peer has sent its first byte. */
  get dialect(): Dialect {
    return this.dialectOrNull ?? LINE;
  }

  /** Bytes waiting to reach the peer: ours not yet handed to the transport plus the transport's own buffer. */
  get outboundBytes(): number {
    return this.outBytes + this.transport.writableLength;
  }

  /** Send a command now (pushes, broadcasts). Returns false when the connection is closed or was just closed as a slow consumer. */
  send(cmd: Command): boolean {
    if (this.closed) return false;
    return this.sendEncoded(this.dialect.encode(cmd));
  }

  /**
   * Send bytes already encoded in this connection's dialect: a topic message going to many
   * members is encoded once per dialect, not once per member.
   */
  sendEncoded(data: string | Buffer): boolean {
    if (this.closed) return false;
    const size = data.length;
    if (this.outBytes + this.transport.writableLength + size > this.maxOutboundBytes) {
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
   * Answer `request`. Replies go out in the order commands arrived, even when a later command's
   * handler finishes first (pipelining, as Redis does).
   */
  reply(request: Command | null, value: Reply | Promise<Reply>): void {
    if (!(value instanceof Promise)) {
      if (this.slots.length === 0) {
        this.emitReply(request, value);
        return;
      }
      this.slots.push({ request, done: true, value });
      this.drainSlots();
      return;
    }
    const slot: Slot = { request, done: false, value: null };
    this.slots.push(slot);
    if (!this.paused && this.slots.length >= this.opts.maxInflight) {
      this.paused = true;
      this.transport.pause();
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

  private throttledUntil = 0;

  /**
   * Stop reading from the peer for `ms` (a client over its rate that cannot be told so). Reading
   * resumes after it, unless the inflight bound still holds it paused.
   */
  throttle(ms: number): void {
    if (this.closed) return;
    const until = Date.now() + ms;
    if (until <= this.throttledUntil) return;
    this.throttledUntil = until;
    this.transport.pause();
    setTimeout(() => {
      if (Date.now() < this.throttledUntil || this.closed) return;
      if (!this.paused) this.transport.resume();
    }, ms).unref();
  }

  /** Commands whose replies are still being worked on. */
  get inflight(): number {
    return this.slots.length;
  }

  /** Close, telling the peer why where its dialect can say it (`ERR <code> <message>` in line mode). */
  close(reason?: ImError): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason ?? null;
    if (reason) {
      const notice = this.dialect.encodeReply(errorReply(reason), null);
      if (typeof notice === "string") this.outText += notice;
      else if (notice) this.outBufs.push(notice);
    }
    this.flush();
    this.transport.end();
    setTimeout(() => this.transport.destroy(), CLOSE_LINGER_MS).unref();
  }

  /** Drop the transport at once (process shutdown, tests). */
  destroy(): void {
    this.closed = true;
    this.transport.destroy();
  }

  /** @internal From the transport (TransportEvents). */
  onData(chunk: Buffer | string): void {
    this.lastInboundMs = Date.now();
    let items: ReturnType<FrameDecoder["push"]>;
    try {
      items = this.decoder.push(chunk);
    } catch (err) {
      const e = err instanceof ImError ? err : new ProtocolError(ErrorCode.IM_ERR_BAD_FRAME, String(err));
      this.log.info({ err: e }, "protocol error; closing");
      this.close(e);
      return;
    }
    for (const item of items) {
      if (this.closed) return;
      if (item instanceof ImError) {
        // A malformed line costs only that line; a malformed frame closed the connection above.
        this.log.debug({ code: item.code }, "bad line");
        this.reply(item instanceof RejectedRequest ? item.request : null, errorReply(item));
        continue;
      }
      // The level check on the shared logger: asking this.log would create the child for every connection.
      if (this.opts.log.isLevelEnabled("trace")) this.log.trace({ cmd: item.name, args: truncate(item.args.join(" ")) }, "in");
      try {
        this.opts.onCommand(this, item);
      } catch (err) {
        this.reply(item, errorReply(err));
        if (!(err instanceof ImError)) this.log.error({ err, cmd: item.name }, "handler threw");
      }
    }
  }

  private drainSlots(): void {
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      this.emitReply(slot.request, slot.value);
    }
    if (this.paused && this.slots.length < this.opts.maxInflight / 2 && !this.closed) {
      this.paused = false;
      if (Date.now() >= this.throttledUntil) this.transport.resume();
    }
  }

  /** A reply the dialect cannot carry (OK/ERR to a v1 packet client) is logged instead, if it is an error. */
  private emitReply(request: Command | null, v: Reply): void {
    if (!v || this.closed) return;
    const bytes = this.dialect.encodeReply(v, request);
    if (bytes !== null) this.sendEncoded(bytes);
    else if (v.name === Cmd.ERR) this.log.info({ code: v.args[0], detail: v.args[1] }, "error (not sent: the dialect has no error replies)");
  }

  /** Write what is queued now. Public for the shared flush loop; callers normally just send(). */
  flush(): void {
    this.flushScheduled = false;
    if (this.outBytes === 0 && this.outText.length === 0 && this.outBufs.length === 0) return;
    if (this.transport.destroyed) {
      this.outText = "";
      this.outBufs = [];
      this.outBytes = 0;
      return;
    }
    const wasEmpty = this.transport.writableLength === 0;
    if (this.outText.length > 0) {
      this.transport.write(this.outText);
      this.outText = "";
    }
    if (this.outBufs.length > 0) {
      this.transport.write(this.outBufs.length === 1 ? this.outBufs[0]! : Buffer.concat(this.outBufs));
      this.outBufs = [];
    }
    this.outBytes = 0;
    if (wasEmpty) this.lastDrainMs = Date.now();
  }

  /** @internal From the transport (TransportEvents). The parent logger decides, so no child logger is made for nothing. */
  onTransportError(err: Error): void {
    if (this.opts.log.isLevelEnabled("debug")) this.log.debug({ err }, "transport error");
  }

  /** @internal From the transport (TransportEvents). */
  onTransportClose(): void {
    this.closed = true;
    this.slots.length = 0;
    this.opts.onClose(this, this.closeReason);
  }
}

/**
 * The transport's events for one connection: one object whose methods live on the prototype,
 * where five arrow functions and their context were made per connection before (BENCHMARKS.md).
 */
class TransportEvents implements TransportHandlers {
  constructor(private readonly c: Connection) {}

  data(chunk: Buffer | string): void {
    this.c.onData(chunk);
  }

  drain(): void {
    this.c.lastDrainMs = Date.now();
  }

  error(err: Error): void {
    this.c.onTransportError(err);
  }

  close(): void {
    this.c.onTransportClose();
  }

  activity(): void {
    this.c.lastInboundMs = Date.now();
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

