import type { Logger } from "../../shared/log/logger.js";
import type { ControlBus } from "../../shared/bus/control-bus.js";
import type { Kick } from "../../shared/protocol/envelope.js";
import { loginTime, type SessionDirectory, type SessionLocation } from "../../shared/bus/session-directory.js";
import type { VerifiedToken } from "../../shared/auth/token-verifier.js";
import { ErrorCode, ImError } from "../../shared/errors.js";
import { ownString } from "../../shared/validate.js";
import type { ChannelHub } from "./channels.js";
import { sessionEvents } from "./events.js";
import { Session, type Conn } from "./session.js";
import type { MsgServerStats } from "./stats.js";

export interface SessionTableDeps {
  serverId: string;
  directory: SessionDirectory;
  control: ControlBus;
  channels: ChannelHub;
  stats: MsgServerStats;
  log: Logger;
  /** HISTORY reads one session may run at once. */
  maxReadsPerSession: number;
  /** A session ended (logout, kick, disconnect): stop its deliveries and save its cursors. */
  onEnded(session: Session): void;
}

/** Refreshes of the session directory go out in slices of this many sessions. */
const REFRESH_SLICE = 5000;

/**
 * The logged-in clients of this msg_server, kept in step with the cluster-wide session directory:
 * a login claims the directory entry and closes an older session of the same id wherever it is;
 * the end of a session releases the entry if it is still ours; a periodic refresh keeps entries
 * alive and closes sessions another server took over.
 */
export class SessionTable {
  private readonly byId = new Map<string, Session>();

  constructor(private readonly d: SessionTableDeps) {}

  get size(): number {
    return this.byId.size;
  }

  get(clientId: string): Session | undefined {
    return this.byId.get(clientId);
  }

  values(): IterableIterator<Session> {
    return this.byId.values();
  }

  /** Sessions by the id of the token they logged in with, for revocations. */
  private readonly byJti = new Map<string, Session>();

  /** Record the token a session holds (at login and on REFRESH_TOKEN). */
  setToken(session: Session, token: VerifiedToken | null): void {
    if (session.token?.jti && this.byJti.get(session.token.jti) === session) this.byJti.delete(session.token.jti);
    session.token = token ? { exp: token.exp, jti: token.jti, iat: token.iat } : null;
    session.expiryNoticeSent = false;
    if (token?.jti) this.byJti.set(token.jti, session);
  }

  /** The live session holding this token id, if any. */
  byTokenId(jti: string): Session | undefined {
    return this.byJti.get(jti);
  }

  /**
   * Register a login. The local table is updated at once (deliveries start flowing), the
   * directory is claimed, and a previous session of the same id anywhere in the cluster is closed.
   */
  async login(conn: Conn, id: string, token: VerifiedToken | null = null): Promise<Session> {
    const { d } = this;
    // The session outlives the login line the id was cut from (see ownString).
    const clientId = ownString(id);
    const prev = this.byId.get(clientId);
    if (prev && prev.conn !== conn) this.kick(prev, "logged in again on this server");
    const session = new Session(clientId, conn, d.serverId, d.maxReadsPerSession);
    this.setToken(session, token);
    conn.state.role = "client";
    conn.state.session = session;
    this.byId.set(clientId, session);
    d.stats.logins++;
    try {
      const old = await this.claim(session);
      if (old && old.serverId !== d.serverId) await d.control.send(old.serverId, { type: "kick", clientId, connId: old.connId });
    } catch (err) {
      // Degraded, not failed: the session works locally and the refresh claims it when Redis is back.
      d.log.warn({ err, clientId }, "could not register session in the directory");
    }
    for (const [ch, cmd] of sessionEvents(d.serverId, session, true)) d.channels.publish(ch, cmd);
    return session;
  }

  /**
   * Claim the directory entry for a login being accepted now. A refusal names a holder whose
   * login time is later than ours: a login that is older in real time, but whose claim timed out
   * and reached Redis late, is refused this way, and its caller is gone. Our caller is waiting,
   * so this login is the newest there is, whatever the clocks say (the holder's server may run
   * ahead of ours): it claims again, stamped just after the holder. A few rounds at most; if
   * logins keep racing, the refresh settles it. Returns the previous owner, to kick.
   */
  private async claim(session: Session): Promise<SessionLocation | null> {
    for (let round = 0; round < 3; round++) {
      const r = await this.d.directory.claim(session.clientId, session.loc);
      if (r.taken) return r.previous;
      session.loc = { ...session.loc, at: loginTime(r.holder) + 1 };
    }
    return null;
  }

  /** A kick for this server: close the named connection if it is still here. */
  onKick(msg: Kick): void {
    const s = this.byId.get(msg.clientId);
    if (s && s.conn.id === msg.connId) this.kick(s, "logged in on another server");
  }

  kick(session: Session, why: string): void {
    this.d.stats.kicks++;
    const notice = session.conn.dialect.kicked(why);
    if (notice) session.conn.send(notice);
    this.end(session);
    session.conn.close(new ImError(ErrorCode.IM_ERR_KICKED, why));
  }

  /** End a session and close its connection with `reason` (token expired or revoked). */
  close(session: Session, reason: ImError): void {
    this.end(session);
    session.conn.close(reason);
  }

  /** Forget a session locally and in the directory (only if the directory still points at it). Idempotent. */
  end(session: Session): void {
    const { d } = this;
    if (session.ended) return;
    session.ended = true;
    if (session.token?.jti && this.byJti.get(session.token.jti) === session) this.byJti.delete(session.token.jti);
    if (this.byId.get(session.clientId) === session) {
      this.byId.delete(session.clientId);
      d.directory.release(session.clientId, session.loc).catch(() => undefined);
      for (const [ch, cmd] of sessionEvents(d.serverId, session, false)) d.channels.publish(ch, cmd);
    }
    d.stats.logouts++;
    d.onEnded(session);
  }

  /** Keep our directory entries alive; sessions another server took over are closed here. */
  async refresh(): Promise<void> {
    const entries = [...this.byId.values()].map((s) => ({ clientId: s.clientId, loc: s.loc }));
    try {
      for (let i = 0; i < entries.length; i += REFRESH_SLICE) {
        const lost = await this.d.directory.refreshAll(entries.slice(i, i + REFRESH_SLICE));
        for (const id of lost) {
          const s = this.byId.get(id);
          if (s) this.kick(s, "logged in on another server");
        }
      }
    } catch (err) {
      this.d.log.debug({ err }, "session refresh failed (Redis down?)");
    }
  }

  /** Release every entry (shutdown). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.byId.values()].map((s) => this.d.directory.release(s.clientId, s.loc).catch(() => undefined)));
  }
}
