import type { Logger } from "../../shared/log/logger.js";
import type { Bus } from "../../shared/bus/bus.js";
import type { SessionDirectory } from "../../shared/bus/session-directory.js";
import type { Store } from "../../shared/store/store.js";
import { Connection, type ConnectionOptions } from "../../shared/net/connection.js";
import { IdleSweeper } from "../../shared/net/idle-sweeper.js";
import type { Transport } from "../../shared/net/transport.js";
import { LINE } from "../../shared/protocol/codec.js";
import { Channel, type Command } from "../../shared/protocol/commands.js";
import { type Dialect, errorReply } from "../../shared/protocol/dialect.js";
import { encodeEnvelope } from "../../shared/protocol/envelope.js";
import { ErrorCode, ImError, ProtocolError } from "../../shared/errors.js";
import { ChannelHub } from "./channels.js";
import { Semaphore } from "../../shared/semaphore.js";
import type { Revocation } from "../../shared/bus/revocations.js";
import type { ControlBus, ControlMessage } from "../../shared/bus/control-bus.js";
import type { ClientAuth } from "./client-auth.js";
import { SendLimiter } from "../../shared/limits/send-limiter.js";

/** The second look after a router died (see repairRoutes): longer than a link takes to notice a closed peer. */
const ROUTE_REPAIR_AGAIN_MS = 1000;
/** A user's send bucket outlives its session this long: long enough to refill, so a reconnect gains nothing. */
const LIMITER_KEEP_MS = 30_000;
import type { MsgServerConfig } from "./config.js";
import type { HandlerContext } from "./context.js";
import { P2PDelivery } from "./delivery.js";
import { sessionEvents } from "./events.js";
import { dispatch } from "./handlers/index.js";
import { newConnState, type Conn, type ConnState, type Session } from "./session.js";
import { SessionTable } from "./session-table.js";
import { msgServerSnapshot, newMsgServerStats } from "./stats.js";
import { LocalTopics } from "./topics.js";
import { Notifier } from "./notices.js";
import { LoginAdmission } from "./login-admission.js";

export interface MsgServerDeps {
  cfg: MsgServerConfig;
  log: Logger;
  store: Store;
  /** Everything Redis does for us, as interfaces (shared/bus/bus.ts). */
  bus: Pick<Bus, "sessions" | "control" | "registry">;
  auth: ClientAuth;
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
  readonly auth: ClientAuth;
  readonly reads: Semaphore;
  readonly control: ControlBus;
  readonly notices: Notifier;
  readonly admission: LoginAdmission;
  /** Set by main.ts once the HTTP file endpoints listen. */
  filesUrl: string | null = null;
  private readonly sweeper: IdleSweeper<Conn>;
  /** Send limiters by user, kept LIMITER_KEEP_MS after the session ends (sendLimiterOf). */
  private readonly limiters = new Map<string, { limiter: SendLimiter; endedAt: number }>();
  /** Per-address connection slots, released when the connection closes. */
  private readonly slots = new WeakMap<Conn, () => void>();
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
    this.auth = deps.auth;
    this.control = deps.bus.control;
    this.reads = new Semaphore(cfg.maxReadsPerProcess);
    this.admission = new LoginAdmission(cfg.loginAdmission);
    const { channels, stats } = this;
    this.topics = new LocalTopics({ cfg, store, stats, channels, log });
    this.sessions = new SessionTable({
      serverId,
      directory: deps.bus.sessions,
      control: deps.bus.control,
      channels,
      stats,
      log,
      maxReadsPerSession: cfg.maxReadsPerConnection,
      onEnded: (s) => this.onSessionEnded(s),
    });
    this.p2p = new P2PDelivery({ cfg, store, stats, sessions: this.sessions, channels, log });
    this.notices = new Notifier({ cfg, serverId, store, sessions: this.sessions, topics: this.topics, directory: deps.bus.sessions, control: deps.bus.control, registry: deps.bus.registry, log });
    this.sweeper = new IdleSweeper<Conn>(this.conns, {
      idleMs: () => cfg.idleTimeoutMs,
      // Counted from connect: trickling bytes does not extend it.
      deadlineMs: (c) => (c.state.role === "anon" ? cfg.loginTimeoutMs : 0),
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
    every(1000, () => {
      const now = Date.now();
      this.checkTokens(now);
      this.sweepLimiters(now);
    });
    every(Math.max(1000, Math.floor(this.cfg.sessionTtlMs / 3)), () => void this.sessions.refresh());
    every(this.cfg.inboxSweepMs, () => void this.sweep());
    every(this.cfg.cursorFlushMs, () => void this.flushCursors());
    every(this.cfg.monitorBeatMs, () => this.monitorBeat());
  }

  /** A new client or link connection; `dialect` when the transport fixes it (WebSocket: JSON), else detected from the first byte. */
  /** What every client connection shares: made once, so a connection carries no closures of its own. */
  private connBase(): Omit<ConnectionOptions<ConnState>, "dialect" | "state"> {
    this.connShared ??= {
      limits: { maxLineBytes: this.cfg.maxLineBytes, maxFrameBytes: this.cfg.maxLineBytes },
      log: this.log,
      maxOutboundBytes: this.cfg.maxOutboundBytes,
      maxInflight: this.cfg.maxInflightPerConnection,
      onCommand: (c, cmd) => dispatch(this, c, cmd),
      onClose: (c, reason) => this.onClose(c, reason),
    };
    return this.connShared;
  }
  private connShared: Omit<ConnectionOptions<ConnState>, "dialect" | "state"> | null = null;

  handleTransport(transport: Transport, dialect?: Dialect): void {
    if (this.closing || this.conns.size >= this.cfg.maxConnections) {
      refuse(transport, (dialect ?? LINE).encodeReply(errorReply(new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "msg_server is full or stopping")), null));
      return;
    }
    const release = this.auth.addresses.connections.acquire(hostOf(transport.remoteAddress()));
    if (!release) {
      refuse(transport, (dialect ?? LINE).encodeReply(errorReply(new ImError(ErrorCode.IM_ERR_TOO_MANY_CONNECTIONS, "too many connections from your address")), null));
      return;
    }
    const conn: Conn = new Connection<ConnState>(transport, { ...this.connBase(), dialect, state: newConnState() });
    this.conns.add(conn);
    this.slots.set(conn, release);
  }

  /**
   * Once a second: a session whose token is about to expire gets TOKEN_EXPIRING (once per token),
   * and one whose token expired is closed with IM_ERR_TOKEN_EXPIRED.
   */
  checkTokens(now: number): void {
    const { clockSkewSec, expiringNoticeSec } = this.cfg.clientAuth;
    for (const s of this.sessions.values()) {
      const t = s.token;
      if (!t) continue;
      const expireAt = (t.exp + clockSkewSec) * 1000;
      if (now >= expireAt) {
        this.sessions.close(s, new ImError(ErrorCode.IM_ERR_TOKEN_EXPIRED, "your token expired; log in again with a fresh one"));
      } else if (!s.expiryNoticeSent && now >= (t.exp - expiringNoticeSec) * 1000) {
        s.expiryNoticeSent = true;
        const notice = s.conn.dialect.tokenExpiring(Math.max(0, Math.round((expireAt - now) / 1000)));
        if (notice) s.conn.send(notice);
      }
    }
  }

  /** A control message from another msg_server (the Redis control bus). */
  onControl(msg: ControlMessage): void {
    switch (msg.type) {
      case "kick":
        this.sessions.onKick(msg);
        return;
      case "member-removed":
        this.memberRemoved(msg.topic, msg.clientId);
        return;
      case "member-added":
        this.memberAdded(msg.topic, msg.clientId, msg.seq);
        return;
      case "relay":
        this.notices.onRelay(msg);
        return;
    }
  }

  /** `clientId` became a member of `topic` (server API): if its session is here, deliveries after `seq` start now. */
  memberAdded(topic: string, clientId: string, seq: number): void {
    const s = this.sessions.get(clientId);
    if (s) this.topics.attach(s, topic, seq);
  }

  /** `clientId` is no longer a member of `topic`: if its session is here, its deliveries stop now. */
  memberRemoved(topic: string, clientId: string): void {
    const s = this.sessions.get(clientId);
    if (!s?.topics.has(topic)) return;
    this.topics.detach(s, topic);
    s.dirtyCursors.delete(topic);
    const notice = s.conn.dialect.topicRemoved(topic);
    if (notice) s.conn.send(notice);
  }

  sendLimiterOf(clientId: string): SendLimiter {
    let e = this.limiters.get(clientId);
    if (!e) this.limiters.set(clientId, (e = { limiter: new SendLimiter(this.cfg.limits), endedAt: 0 }));
    e.endedAt = 0;
    return e.limiter;
  }

  /** Limiters of users gone long enough for their bucket to be full again are forgotten. */
  private sweepLimiters(now: number): void {
    for (const [id, e] of this.limiters) if (e.endedAt > 0 && now - e.endedAt > LIMITER_KEEP_MS) this.limiters.delete(id);
  }

  /** A revocation anywhere in the cluster: close the live sessions it names. */
  onRevoked(r: Revocation): void {
    const reason = () => new ImError(ErrorCode.IM_ERR_TOKEN_REVOKED, "your token was revoked");
    if (r.kind === "token") {
      const s = this.sessions.byTokenId(r.key);
      if (s) this.sessions.close(s, reason());
      return;
    }
    const s = this.sessions.get(r.key);
    if (s?.token && (s.token.iat ?? 0) * 1000 <= r.atMs) this.sessions.close(s, reason());
  }

  async startSync(session: Session): Promise<void> {
    const inbox = this.p2p.openInbox(session).catch((err: unknown) => this.log.warn({ err, clientId: session.clientId }, "inbox sync failed"));
    await this.topics.loginSync(session).catch((err: unknown) => this.log.warn({ err, clientId: session.clientId }, "topic sync failed"));
    // After the topic sync, so the session's topics are known: PRESENCE online to peers and members.
    if (!session.ended) this.notices.online(session);
    await inbox;
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
    const lim = this.limiters.get(session.clientId);
    if (lim && session.sendLimiter === lim.limiter) lim.endedAt = Date.now();
    // Not while stopping: the clients reconnect to another server at once.
    if (!this.closing) this.notices.offline(session, session.topicNames());
    session.inbox?.close();
    this.topics.detachAll(session);
    void this.flushCursorsOf([session]);
  }

  private onClose(conn: Conn, reason: ImError | null): void {
    this.conns.delete(conn);
    this.slots.get(conn)?.();
    if (reason?.code === ErrorCode.IM_ERR_SLOW_CONSUMER) this.stats.slowConsumers++;
    else if (reason instanceof ProtocolError) this.stats.protocolErrors++;
    if (conn.state.session) this.sessions.end(conn.state.session);
    const wasRouter = conn.state.channels?.has(Channel.SEND) === true || conn.state.channels?.has(Channel.TOPIC_SYNC) === true;
    this.channels.dropConnection(conn);
    if (wasRouter && !this.closing) this.repairRoutes();
    if (this.log.isLevelEnabled("debug")) conn.log.debug({ reason: reason?.code }, "closed");
  }

  /**
   * A router link closed: what that router held in flight is lost, and the sweep would take two
   * rounds to notice. Read every local stream whose store head is ahead now, and once more after
   * ROUTE_REPAIR_AGAIN_MS for messages the senders' servers still handed it before they noticed
   * its death. Entries already delivered are skipped by position, so nothing arrives twice.
   */
  private repairRoutes(): void {
    this.stats.routeRepairs++;
    const run = () => {
      if (this.closing) return;
      Promise.all([this.p2p.repair(), this.topics.repair()]).catch((err: unknown) => this.log.warn({ err }, "route repair failed; the sweep will retry"));
    };
    run();
    setTimeout(run, ROUTE_REPAIR_AGAIN_MS).unref();
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
      const dirty = s.dirtyCursorsIfAny;
      if (!dirty || dirty.size === 0) continue;
      for (const [topic, seq] of dirty) updates.push({ clientId: s.clientId, topic, seq });
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
    let clients = 0;
    for (const c of this.conns) {
      backlog += c.outboundBytes;
      if (c.state.role !== "internal") clients++;
    }
    let unacked = 0;
    for (const s of this.sessions.values()) unacked += s.unackedCount;
    return {
      connections: this.conns.size,
      sessions: this.sessions.size,
      SessionNum: this.sessions.size,
      topics: this.topics.count,
      outboundBytes: backlog,
      unackedDeliveries: unacked,
      routerLinks: this.channels.subscriberCount(Channel.SEND),
      clientConnections: clients,
      loginsInProgress: this.admission.inProgress,
      loginsQueued: this.admission.queued,
      ...this.storeHealth(),
    };
  }

  // ---- store health for the monitor (storeLatencyMs, storeOkAgoMs) -------------------------
  private readonly storeCheck = { startedAt: 0, running: false, okAt: 0, latencyMs: -1 };

  /**
   * Starts one cheap store read unless one is pending (so a hung store holds one read, not a
   * pile), and reports the last one. gauges() runs at every beat and heartbeat, which paces it.
   */
  private storeHealth(): { storeLatencyMs: number; storeOkAgoMs: number } {
    const s = this.storeCheck;
    const now = Date.now();
    if (!s.running && !this.closing) {
      s.running = true;
      s.startedAt = now;
      const t0 = performance.now();
      this.store
        .getCursor("", "")
        .then(() => {
          s.okAt = Date.now();
          s.latencyMs = performance.now() - t0;
        })
        .catch(() => undefined)
        .finally(() => (s.running = false));
    }
    const pendingMs = s.running ? now - s.startedAt : 0;
    return { storeLatencyMs: Math.max(s.latencyMs, pendingMs > 0 ? pendingMs : -1), storeOkAgoMs: s.okAt ? now - s.okAt : -1 };
  }

  private monitorBeat(): void {
    if (this.channels.subscriberCount(Channel.MONITOR) === 0) return;
    // v1's {"SessionNum":N} stays first so a v1 monitor still decodes it.
    this.channels.publish(
      Channel.MONITOR,
      encodeEnvelope({ type: "monitor-beat", sessionNum: this.sessions.size, serverId: this.serverId, ts: Date.now(), stats: this.statsSnapshot() }),
    );
  }

  /**
   * Graceful drain (SIGTERM): accept no new connection, tell each client that can hear it
   * `GOAWAY <delayMs>` with delays spread over the first half of the window, so they reconnect
   * through the gateway a few at a time, and keep serving until they have gone or the window ends.
   * Nothing acknowledged is at risk: whatever a client has not acknowledged stays in the store
   * and reaches it on its next server. v1 packet clients, which have no GOAWAY, are closed at
   * spread moments over the same half.
   */
  async drain(windowMs: number): Promise<void> {
    this.closing = true;
    const sessions = [...this.sessions.values()];
    const spread = Math.floor(windowMs / 2);
    sessions.forEach((s, i) => {
      const delay = sessions.length > 1 ? Math.floor((spread * i) / (sessions.length - 1)) : 0;
      const notice = s.conn.dialect.goaway(delay);
      if (notice) s.conn.send(notice);
      else setTimeout(() => this.sessions.close(s, new ImError(ErrorCode.IM_ERR_SHUTTING_DOWN, "msg_server is stopping")), delay).unref();
    });
    this.log.info({ sessions: sessions.length, windowMs }, "draining");
    const deadline = Date.now() + windowMs;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  /** Stop: tell clients, flush cursors, release sessions. The listener is closed by main.ts. */
  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    this.sweeper.stop();
    this.auth.stop();
    await this.flushCursors();
    await this.sessions.releaseAll();
    for (const conn of this.conns) conn.close(new ImError(ErrorCode.IM_ERR_SHUTTING_DOWN, "msg_server is stopping; reconnect through the gateway"));
  }
}

/** "1.2.3.4" of "1.2.3.4:5678", "::1" of "[::1]:5678" or "::1:5678" (the port is after the last colon). */
function hostOf(addr: string): string {
  const i = addr.lastIndexOf(":");
  const host = i > 0 ? addr.slice(0, i) : addr;
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** Turn a connection away with one line (a v1 client reads it as garbage and reconnects elsewhere). */
function refuse(transport: Transport, line: string | Buffer | null): void {
  if (line !== null) transport.write(line);
  transport.end();
  setTimeout(() => transport.destroy(), 1000).unref();
}
