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
      conn.send({ name: Cmd.AUTH, args: [this.opts.secret] });
      for (const ch of this.opts.channels) conn.send({ name: Cmd.SUBSCRIBE_CHANNEL, args: [ch, this.opts.subscriberId] });
    });
  }

  private onCommand(cmd: Command): void {
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
      c.send({ name: Cmd.SEND_PING, args: ["PING"] });
    }, pingMs);
    this.pinger.unref();
  }

  private onClosed(conn: Connection<null>): void {
    if (this.conn !== conn) return;
    this.conn = null;
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
