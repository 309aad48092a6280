import { connect } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import type { Logger } from "../log/logger.js";
import { Cmd, type Command } from "../protocol/commands.js";
import type { Limits } from "../protocol/dialect.js";
import { splitHostPort } from "../config/common.js";
import { LINE } from "../protocol/codec.js";
import { Connection } from "./connection.js";
import { TcpTransport } from "./tcp-transport.js";
import { Backoff } from "./backoff.js";
import { ErrorCode, UnavailableError, errorFromReply } from "../errors.js";

/** Requests awaiting their reply on one link before new ones are refused (bounded, like every queue). */
export const MAX_PENDING_REQUESTS = 1024;

/** A reply the link waits for: `null` for its own AUTH, SUBSCRIBE_CHANNEL and SEND_PING, whose replies it consumes. */
interface PendingReply {
  resolve(cmd: Command): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export interface LinkOptions {
  /** msg_server address, "host:port": its identity (what the router forwards by). */
  addr: string;
  /** Where to dial, when not `addr` (its TLS listener). Changeable later with setDialAddr. */
  dialAddr?: string;
  /** Dial with TLS: options for tls.connect given the host (shared/net/tls-config.ts tlsClientOptions). */
  tls?: (host: string) => ConnectionOptions;
  log: Logger;
  limits: Limits;
  secret: string;
  /** Channels to subscribe to after authenticating; empty for a plain command link. */
  channels: readonly string[];
  subscriberId: string;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Interval of SEND_PING, which keeps the link inside the msg_server's idle timeout. */
  pingMs?: number;
  /** No inbound byte for this long: the peer is presumed dead and the link is re-dialled. */
  deadAfterMs?: number;
  maxOutboundBytes?: number;
  onCommand(link: Link, cmd: Command): void;
  onUp?(link: Link): void;
  onDown?(link: Link): void;
}

const CONNECT_TIMEOUT_MS = 3000;

/**
 * A self-healing link from router/manager/monitor to one msg_server: dial, AUTH with the cluster
 * secret, SUBSCRIBE_CHANNEL, ping, and on any failure re-dial with jittered backoff. v1 dialled
 * once at start-up and never again (reference §9 #11).
 */
export class Link {
  readonly addr: string;
  private conn: Connection<null> | null = null;
  private up = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private pinger: NodeJS.Timeout | null = null;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  /** Times the link came up; lets callers tell a reconnect from the first connect. */
  connects = 0;
  /**
   * One entry per command sent that gets a reply, in send order: a msg_server answers every
   * command of a line connection exactly once and in order (handlers/index.ts), so the next
   * OK or ERR belongs to the oldest entry. Only request() users rely on it (the api service).
   */
  private expect: (PendingReply | null)[] = [];

  constructor(private readonly opts: LinkOptions) {
    this.addr = opts.addr;
    this.log = opts.log.child({ link: opts.addr });
    this.backoff = new Backoff(opts.reconnectMinMs, opts.reconnectMaxMs);
  }

  get isUp(): boolean {
    return this.up && this.conn !== null && !this.conn.closed;
  }

  start(): void {
    this.dial();
  }

  /** Where the link dials; it is the identity address unless set (a TLS address from the registry). */
  get dialAddr(): string {
    return this.dialTo ?? this.opts.dialAddr ?? this.opts.addr;
  }

  private dialTo: string | null = null;

  /** The server announced another address to dial (its TLS listener): used from the next dial on. */
  setDialAddr(addr: string): void {
    this.dialTo = addr;
  }

  /** Send on the link; false when it is down (the caller decides whether that loses anything). */
  send(cmd: Command): boolean {
    if (!this.isUp) return false;
    return this.conn!.send(cmd);
  }

  /**
   * Send a command and wait for its reply: OK (resolved) or ERR (rejected with the typed error).
   * Down link, too many requests waiting, or no reply within timeoutMs: IM_ERR_UNAVAILABLE. The
   * command must be one the msg_server answers (ROUTE_* commands do not). Replies are matched by
   * order, so a link that uses request() must not also send() commands that get a reply.
   */
  request(cmd: Command, timeoutMs: number): Promise<Command> {
    if (!this.isUp) return Promise.reject(new UnavailableError(ErrorCode.IM_ERR_UNAVAILABLE, `no link to msg_server ${this.addr}`));
    if (this.expect.length >= MAX_PENDING_REQUESTS) return Promise.reject(new UnavailableError(ErrorCode.IM_ERR_UNAVAILABLE, `msg_server ${this.addr} has too many requests waiting`));
    return new Promise<Command>((resolve, reject) => {
      const entry: PendingReply = {
        resolve,
        reject,
        // The entry stays queued after a timeout (its reply is still coming); only the caller stops waiting.
        timer: setTimeout(() => reject(new UnavailableError(ErrorCode.IM_ERR_UNAVAILABLE, `msg_server ${this.addr} did not answer within ${timeoutMs} ms`)), timeoutMs),
      };
      this.expect.push(entry);
      if (!this.conn!.send(cmd)) {
        this.expect.pop();
        clearTimeout(entry.timer);
        reject(new UnavailableError(ErrorCode.IM_ERR_UNAVAILABLE, `link to msg_server ${this.addr} is full`));
      }
    });
  }

  private sendOwn(conn: Connection<null>, cmd: Command): void {
    this.expect.push(null);
    conn.send(cmd);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pinger) clearInterval(this.pinger);
    this.conn?.destroy();
    this.conn = null;
  }

  private dial(): void {
    if (this.stopped) return;
    const { host, port } = splitHostPort(this.dialAddr);
    const socket = this.opts.tls ? tlsConnect({ ...this.opts.tls(host), port }) : connect({ host, port });
    const connectTimer = setTimeout(() => socket.destroy(), CONNECT_TIMEOUT_MS);
    socket.once("connect", () => clearTimeout(connectTimer));
    const conn = new Connection<null>(new TcpTransport(socket, { keepAlive: true }), {
      limits: this.opts.limits,
      log: this.log,
      maxOutboundBytes: this.opts.maxOutboundBytes ?? 64 * 1024 * 1024,
      maxInflight: 1_000_000,
      dialect: LINE,
      state: null,
      onCommand: (_c, cmd) => this.onCommand(cmd),
      onClose: () => {
        clearTimeout(connectTimer);
        this.onClosed(conn);
      },
    });
    this.conn = conn;
    socket.once("connect", () => {
      this.sendOwn(conn, { name: Cmd.AUTH, args: [this.opts.secret] });
      for (const ch of this.opts.channels) this.sendOwn(conn, { name: Cmd.SUBSCRIBE_CHANNEL, args: [ch, this.opts.subscriberId] });
    });
  }

  private onCommand(cmd: Command): void {
    if (cmd.name === Cmd.OK || cmd.name === Cmd.ERR) {
      // A null entry (the link's own AUTH, SUBSCRIBE_CHANNEL, SEND_PING) falls through to the handling below.
      const entry = this.expect.shift();
      if (entry) {
        clearTimeout(entry.timer);
        if (cmd.name === Cmd.OK) entry.resolve(cmd);
        else entry.reject(errorFromReply(cmd.args));
        return;
      }
    }
    if (cmd.name === Cmd.OK && cmd.args[0] === Cmd.AUTH) {
      this.up = true;
      this.connects++;
      this.backoff.reset();
      this.log.info({ connects: this.connects }, "link up");
      this.startPinger();
      this.opts.onUp?.(this);
      return;
    }
    if (cmd.name === Cmd.ERR) {
      this.log.warn({ code: cmd.args[0], detail: cmd.args[1] }, "msg_server refused a link command");
      if (!this.up) this.conn?.close();
      return;
    }
    if (cmd.name === Cmd.OK) return;
    this.opts.onCommand(this, cmd);
  }

  private startPinger(): void {
    if (this.pinger) clearInterval(this.pinger);
    const pingMs = this.opts.pingMs ?? 5000;
    const deadAfterMs = this.opts.deadAfterMs ?? pingMs * 3;
    this.pinger = setInterval(() => {
      const c = this.conn;
      if (!c || c.closed) return;
      if (Date.now() - c.lastInboundMs > deadAfterMs) {
        this.log.warn("link silent; re-dialling");
        c.destroy();
        return;
      }
      this.sendOwn(c, { name: Cmd.SEND_PING, args: ["PING"] });
    }, pingMs);
    this.pinger.unref();
  }

  private onClosed(conn: Connection<null>): void {
    if (this.conn !== conn) return;
    this.conn = null;
    const waiting = this.expect;
    this.expect = [];
    for (const e of waiting) {
      if (!e) continue;
      clearTimeout(e.timer);
      // Maybe done, maybe not: the caller retries with the same client message id.
      e.reject(new UnavailableError(ErrorCode.IM_ERR_UNAVAILABLE, `link to msg_server ${this.addr} closed before it answered`));
    }
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = null;
    const wasUp = this.up;
    this.up = false;
    if (wasUp) {
      this.log.warn("link down");
      this.opts.onDown?.(this);
    }
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.log.debug({ delay }, "re-dialling");
    this.timer = setTimeout(() => this.dial(), delay);
    this.timer.unref();
  }
}
