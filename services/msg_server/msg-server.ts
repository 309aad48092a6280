import type { Logger } from "../../shared/log/logger.js";
import type { Bus } from "../../shared/bus/bus.js";
import type { SessionDirectory } from "../../shared/bus/session-directory.js";
import type { Store } from "../../shared/store/store.js";
import { Connection } from "../../shared/net/connection.js";
import { IdleSweeper } from "../../shared/net/idle-sweeper.js";
import type { Transport } from "../../shared/net/transport.js";
import { LINE } from "../../shared/protocol/codec.js";
import { Channel, type Command } from "../../shared/protocol/commands.js";
import { type Dialect, errorReply } from "../../shared/protocol/dialect.js";
import { encodeEnvelope } from "../../shared/protocol/envelope.js";
import { ErrorCode, ImError, ProtocolError } from "../../shared/errors.js";
import { ChannelHub } from "./channels.js";
import type { MsgServerConfig } from "./config.js";
import type { HandlerContext } from "./context.js";
import { P2PDelivery } from "./delivery.js";
import { sessionEvents } from "./events.js";
import { dispatch } from "./handlers/index.js";
import { newConnState, type Conn, type ConnState, type Session } from "./session.js";
import { SessionTable } from "./session-table.js";
import { msgServerSnapshot, newMsgServerStats } from "./stats.js";
import { LocalTopics } from "./topics.js";

export interface MsgServerDeps {
  cfg: MsgServerConfig;
  log: Logger;
  store: Store;
  /** Everything Redis does for us, as interfaces (shared/bus/bus.ts). */
  bus: Pick<Bus, "sessions" | "control">;
  /** The advertised address: this server's identity in the cluster. */
  serverId: string;
}

/**
 * The msg_server core: owns connections and sessions, dispatches commands to handlers, keeps the
 * session directory and the store in step with who is connected. It never listens, never touches
 * a socket or a Redis client, and never exits: main.ts feeds it transports and calls close().
 */
export class MsgServer implements HandlerContext {
  readonly cfg: MsgServerConfig;
  readonly log: Logger;
  readonly store: Store;
  readonly serverId: string;
  readonly directory: SessionDirectory;
  readonly conns = new Set<Conn>();
  readonly channels = new ChannelHub();
  readonly stats = newMsgServerStats();
  readonly sessions: SessionTable;
  readonly topics: LocalTopics;
  readonly p2p: P2PDelivery;
  private readonly sweeper: IdleSweeper<Conn>;
  private readonly timers: NodeJS.Timeout[] = [];
  private closing = false;
  private sweeping = false;

  constructor(deps: MsgServerDeps) {
    const { cfg, log, store, serverId } = deps;
    this.cfg = cfg;
    this.log = log;
    this.store = store;
    this.serverId = serverId;
    this.directory = deps.bus.sessions;
    const { channels, stats } = this;
    this.topics = new LocalTopics({ cfg, store, stats, channels, log });
    this.sessions = new SessionTable({
      serverId,
      directory: deps.bus.sessions,
      control: deps.bus.control,
      channels,
      stats,
      log,
      onEnded: (s) => this.onSessionEnded(s),
    });
    this.p2p = new P2PDelivery({ cfg, store, stats, sessions: this.sessions, channels, log });
    this.sweeper = new IdleSweeper<Conn>(this.conns, {
      idleMs: (c) => (c.state.role === "anon" ? cfg.loginTimeoutMs : cfg.idleTimeoutMs),
      stalledMs: cfg.idleTimeoutMs,
      onIdle: (_c, why) => {
        if (why !== "stalled") stats.idleTimeouts++;
      },
    });
  }

  /** Periodic work; separate from the constructor so tests can drive a core without timers. */
  start(): void {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    this.sweeper.start();
    every(Math.max(1000, Math.floor(this.cfg.sessionTtlMs / 3)), () => void this.sessions.refresh());
    every(this.cfg.inboxSweepMs, () => void this.sweep());
    every(this.cfg.cursorFlushMs, () => void this.flushCursors());
    every(this.cfg.monitorBeatMs, () => this.monitorBeat());
  }

  /** A new client or link connection; `dialect` when the transport fixes it (WebSocket: JSON), else detected from the first byte. */
  handleTransport(transport: Transport, dialect?: Dialect): void {
    if (this.closing || this.conns.size >= this.cfg.maxConnections) {
      const notice = (dialect ?? LINE).encodeReply(errorReply(new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "msg_server is full or stopping")), null);
      if (notice !== null) transport.write(notice);
      transport.destroy();
      return;
    }
    const conn: Conn = new Connection<ConnState>(transport, {
      limits: { maxLineBytes: this.cfg.maxLineBytes, maxFrameBytes: this.cfg.maxLineBytes },
      log: this.log,
      maxOutboundBytes: this.cfg.maxOutboundBytes,
      maxInflight: this.cfg.maxInflightPerConnection,
      dialect,
      state: newConnState(),
      onCommand: (c, cmd) => dispatch(this, c, cmd),
      onClose: (c, reason) => this.onClose(c, reason),
    });
    this.conns.add(conn);
  }

  startSync(session: Session): void {
    this.p2p.openInbox(session).catch((err: unknown) => this.log.warn({ err, clientId: session.clientId }, "inbox sync failed"));
    this.topics.loginSync(session).catch((err: unknown) => this.log.warn({ err, clientId: session.clientId }, "topic sync failed"));
  }

  snapshot(channel: string): Command[] {
    switch (channel) {
      case Channel.CLIENT_STATUS:
      case Channel.CLIENT_INFO: {
        const out: Command[] = [];
        for (const s of this.sessions.values()) {
          for (const [ch, cmd] of sessionEvents(this.serverId, s, true)) if (ch === channel) out.push(cmd);
        }
        return out;
      }
      case Channel.TOPIC_SYNC:
        return this.topics.snapshot();
      default:
        return [];
    }
  }

  statsSnapshot(): Record<string, number> {
    return msgServerSnapshot(this.stats, this.gauges());
  }

  private onSessionEnded(session: Session): void {
    session.inbox?.close();
    this.topics.detachAll(session);
    void this.flushCursorsOf([session]);
  }

  private onClose(conn: Conn, reason: ImError | null): void {
    this.conns.delete(conn);
    if (reason?.code === ErrorCode.IM_ERR_SLOW_CONSUMER) this.stats.slowConsumers++;
    else if (reason instanceof ProtocolError) this.stats.protocolErrors++;
    if (conn.state.session) this.sessions.end(conn.state.session);
    this.channels.dropConnection(conn);
    if (this.log.isLevelEnabled("debug")) conn.log.debug({ reason: reason?.code }, "closed");
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.p2p.sweep();
      await this.topics.sweep();
    } catch (err) {
      this.log.warn({ err }, "sweep failed");
    } finally {
      this.sweeping = false;
    }
  }

  async flushCursors(): Promise<void> {
    await this.flushCursorsOf(this.sessions.values());
  }

  private async flushCursorsOf(sessions: Iterable<Session>): Promise<void> {
    const updates = [];
    for (const s of sessions) {
      for (const [topic, seq] of s.dirtyCursors) updates.push({ clientId: s.clientId, topic, seq });
      s.dirtyCursors.clear();
    }
    if (updates.length === 0) return;
    try {
      await this.store.setCursors(updates);
    } catch (err) {
      // Lost cursor moves only cause redelivery (at least once), never loss.
      this.log.warn({ err, n: updates.length }, "cursor flush failed");
    }
  }

  gauges(): Record<string, number> {
    let backlog = 0;
    for (const c of this.conns) backlog += c.outboundBytes;
    let unacked = 0;
    for (const s of this.sessions.values()) unacked += s.unacked.size;
    return {
      connections: this.conns.size,
      sessions: this.sessions.size,
      SessionNum: this.sessions.size,
      topics: this.topics.count,
      outboundBytes: backlog,
      unackedDeliveries: unacked,
      routerLinks: this.channels.subscriberCount(Channel.SEND),
    };
  }

  private monitorBeat(): void {
    if (this.channels.subscriberCount(Channel.MONITOR) === 0) return;
    // v1's {"SessionNum":N} stays first so a v1 monitor still decodes it.
    this.channels.publish(
      Channel.MONITOR,
      encodeEnvelope({ type: "monitor-beat", sessionNum: this.sessions.size, serverId: this.serverId, ts: Date.now(), stats: this.statsSnapshot() }),
    );
  }

  /** Stop: tell clients, flush cursors, release sessions. The listener is closed by main.ts. */
  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    this.sweeper.stop();
    await this.flushCursors();
    await this.sessions.releaseAll();
    for (const conn of this.conns) conn.close(new ImError(ErrorCode.IM_ERR_SHUTTING_DOWN, "msg_server is stopping; reconnect through the gateway"));
  }
}
