import type { Socket } from "node:net";
import type { Redis } from "ioredis";
import type { Logger } from "../../shared/log/logger.js";
import type { Store } from "../../shared/store/store.js";
import type { RedisKeys } from "../../shared/bus/keys.js";
import { SessionRegistry } from "../../shared/bus/session-registry.js";
import { Connection } from "../../shared/net/connection.js";
import { Channel, Cmd, type Command } from "../../shared/protocol/commands.js";
import { ErrorCode, ImError } from "../../shared/errors.js";
import type { MsgServerConfig } from "./config.js";
import { ChannelHub } from "./channels.js";
import { MsgServerStats } from "./stats.js";
import { LocalTopics } from "./topics.js";
import { openInbox, sweepInboxes } from "./delivery.js";
import { newConnState, Session, type Conn, type ConnState } from "./session.js";
import { dispatch } from "./handlers/index.js";
import { sessionEvents } from "./events.js";

export interface MsgServerDeps {
  cfg: MsgServerConfig;
  log: Logger;
  store: Store;
  redis: Redis;
  keys: RedisKeys;
  /** The advertised address: this server's identity in the cluster. */
  serverId: string;
}

/**
 * The msg_server core: owns connections and sessions, dispatches commands to handlers, keeps the
 * Redis session table and the stores in step with who is connected. It never listens or exits:
 * main.ts feeds it sockets and calls close().
 */
export class MsgServer {
  readonly cfg: MsgServerConfig;
  readonly log: Logger;
  readonly store: Store;
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly serverId: string;
  readonly registry: SessionRegistry;
  readonly sessions = new Map<string, Session>();
  readonly conns = new Set<Conn>();
  readonly channels = new ChannelHub();
  readonly stats = new MsgServerStats();
  readonly topics: LocalTopics;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Latest stats snapshot (taken every monitorBeatMs), shared by the monitor beat and the registry heartbeat. */
  lastStats: Record<string, number> = {};
  private closing = false;
  private sweeping = false;

  constructor(deps: MsgServerDeps) {
    this.cfg = deps.cfg;
    this.log = deps.log;
    this.store = deps.store;
    this.redis = deps.redis;
    this.keys = deps.keys;
    this.serverId = deps.serverId;
    this.registry = new SessionRegistry(deps.redis, deps.keys, deps.cfg.sessionTtlMs);
    this.topics = new LocalTopics(this);
  }

  /** Periodic work; separate from the constructor so tests can drive a core without timers. */
  start(): void {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(1000, () => this.checkIdle());
    every(Math.max(1000, Math.floor(this.cfg.sessionTtlMs / 3)), () => void this.refreshSessions());
    every(this.cfg.inboxSweepMs, () => void this.sweep());
    every(this.cfg.cursorFlushMs, () => void this.flushCursors());
    every(this.cfg.monitorBeatMs, () => this.monitorBeat());
  }

  handleSocket(socket: Socket): void {
    if (this.closing || this.conns.size >= this.cfg.maxConnections) {
      socket.end(`ERR ${ErrorCode.IM_ERR_UNAVAILABLE} "msg_server is full or stopping"\n`);
      socket.destroy();
      return;
    }
    const conn: Conn = new Connection<ConnState>(socket, {
      limits: { maxLineBytes: this.cfg.maxLineBytes, maxFrameBytes: this.cfg.maxLineBytes },
      log: this.log,
      maxOutboundBytes: this.cfg.maxOutboundBytes,
      maxInflight: this.cfg.maxInflightPerConnection,
      state: newConnState(),
      onCommand: (c, cmd) => dispatch(this, c, cmd),
      onClose: (c, reason) => this.onClose(c, reason),
    });
    this.conns.add(conn);
  }

  /** Above half its bound: catch-up reads stop feeding this connection until it drains. */
  congested(conn: Conn): boolean {
    return conn.outboundBytes >= conn.maxOutboundBytes / 2;
  }

  /** Resolves when the connection's outbound buffer is below a quarter of its bound (used by catch-up reads). */
  writable(conn: Conn): Promise<void> {
    if (conn.closed || !this.congested(conn)) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setInterval(() => {
        if (conn.closed || conn.outboundBytes < conn.maxOutboundBytes / 4) {
          clearInterval(t);
          resolve();
        }
      }, 5);
    });
  }

  /**
   * Register a login. The local table is updated at once (deliveries start flowing), Redis is
   * claimed, and a previous session of the same id anywhere in the cluster is closed.
   */
  async login(conn: Conn, clientId: string): Promise<Session> {
    const prev = this.sessions.get(clientId);
    if (prev && prev.conn !== conn) this.kickLocal(prev, "logged in again on this server");
    const session = new Session(clientId, conn, this.serverId);
    conn.state.role = "client";
    conn.state.session = session;
    this.sessions.set(clientId, session);
    this.stats.logins++;
    try {
      const old = await this.registry.claim(clientId, session.loc);
      if (old && old.serverId !== this.serverId) {
        await this.redis.publish(this.keys.control(old.serverId), `KICK ${clientId} ${old.connId}`);
      }
    } catch (err) {
      // Degraded, not failed: the session works locally and the refresh timer claims it when Redis is back.
      this.log.warn({ err: (err as Error).message, clientId }, "could not register session in Redis");
    }
    for (const [ch, cmd] of sessionEvents(this, session, true)) this.channels.publish(ch, cmd);
    return session;
  }

  /** Start delivering what the client missed: its inbox, then its topics. Runs after the login reply. */
  startSync(session: Session): void {
    openInbox(this, session).catch((err: unknown) => this.log.warn({ err, clientId: session.clientId }, "inbox sync failed"));
    this.topics.loginSync(session).catch((err: unknown) => this.log.warn({ err, clientId: session.clientId }, "topic sync failed"));
  }

  /** A control message from Redis pub/sub: `KICK <clientId> <connId>`. */
  onControl(message: string): void {
    const [verb, clientId, connId] = message.split(" ");
    if (verb !== "KICK" || !clientId) return;
    const s = this.sessions.get(clientId);
    if (s && s.conn.id === connId) this.kickLocal(s, "logged in on another server");
  }

  kickLocal(session: Session, why: string): void {
    this.stats.kicks++;
    if (session.conn.codec !== "packet") session.conn.send({ name: Cmd.KICKED, args: [why] });
    this.endSession(session);
    session.conn.close(new ImError(ErrorCode.IM_ERR_KICKED, why));
  }

  /** Forget a session locally and in Redis (only if Redis still points at us). Idempotent. */
  endSession(session: Session): void {
    if (session.ended) return;
    session.ended = true;
    session.inbox?.close();
    this.topics.detachAll(session);
    if (this.sessions.get(session.clientId) === session) {
      this.sessions.delete(session.clientId);
      this.registry.release(session.clientId, session.loc).catch(() => undefined);
      for (const [ch, cmd] of sessionEvents(this, session, false)) this.channels.publish(ch, cmd);
    }
    this.stats.logouts++;
    void this.flushCursorsOf([session]);
  }

  private onClose(conn: Conn, reason: ImError | null): void {
    this.conns.delete(conn);
    if (reason?.code === ErrorCode.IM_ERR_SLOW_CONSUMER) this.stats.slowConsumers++;
    if (conn.state.session) this.endSession(conn.state.session);
    this.channels.dropConnection(conn);
    if (this.log.isLevelEnabled("debug")) conn.log.debug({ reason: reason?.code }, "closed");
  }

  private checkIdle(): void {
    const now = Date.now();
    for (const conn of this.conns) {
      const limit = conn.state.role === "anon" ? this.cfg.loginTimeoutMs : this.cfg.idleTimeoutMs;
      if (now - conn.lastInboundMs > limit) {
        this.stats.idleTimeouts++;
        conn.close(new ImError(ErrorCode.IM_ERR_IDLE_TIMEOUT, `nothing received for ${limit} ms`));
      } else if (conn.outboundBytes > 0 && now - conn.lastDrainMs > this.cfg.idleTimeoutMs) {
        // The peer stopped reading: its socket buffer has not drained for a whole idle period.
        conn.close(new ImError(ErrorCode.IM_ERR_SLOW_CONSUMER, "peer stopped reading"));
      }
    }
  }

  /** Keep our Redis entries alive; sessions another server took over are closed here. */
  async refreshSessions(): Promise<void> {
    const entries = [...this.sessions.values()].map((s) => ({ clientId: s.clientId, loc: s.loc }));
    try {
      for (let i = 0; i < entries.length; i += 5000) {
        const lost = await this.registry.refreshAll(entries.slice(i, i + 5000));
        for (const id of lost) {
          const s = this.sessions.get(id);
          if (s) this.kickLocal(s, "logged in on another server");
        }
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, "session refresh failed (Redis down?)");
    }
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await sweepInboxes(this);
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
    this.lastStats = this.stats.snapshot(this.gauges());
    if (this.channels.subscriberCount(Channel.MONITOR) === 0) return;
    // v1's {"SessionNum":N} stays first so a v1 monitor still decodes it.
    const beat = { SessionNum: this.sessions.size, ServerId: this.serverId, Ts: Date.now(), Stats: this.lastStats };
    this.channels.publish(Channel.MONITOR, { name: Cmd.MONITOR_BEAT, args: [], anyData: beat });
  }

  /** Stop: tell clients, flush cursors, release sessions. The listener is closed by main.ts. */
  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    await this.flushCursors();
    const releases: Promise<void>[] = [];
    for (const s of this.sessions.values()) releases.push(this.registry.release(s.clientId, s.loc).catch(() => undefined));
    await Promise.all(releases);
    for (const conn of this.conns) conn.close(new ImError(ErrorCode.IM_ERR_SHUTTING_DOWN, "msg_server is stopping; reconnect through the gateway"));
  }

  /** Send a command to an internal connection's channel subscribers (used by handlers). */
  publish(channel: string, cmd: Command): number {
    return this.channels.publish(channel, cmd);
  }
}
