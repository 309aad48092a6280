import type { Logger } from "../../shared/log/logger.js";
import type { Store } from "../../shared/store/store.js";
import type { V1Cache } from "../../shared/bus/v1-cache.js";
import { Channel, type Command } from "../../shared/protocol/commands.js";
import { parseEnvelope, type Envelope, type SessionEvent } from "../../shared/protocol/envelope.js";
import { counters } from "../../shared/stats-schema.js";
import type { ManagerConfig } from "./config.js";

/** What the manager needs of a link (a shared/net Link has it). */
export interface ManagerLink {
  readonly addr: string;
}
/**
 * The manager: keeps FishChatServer v1's Redis cache (`IM:<id>session`, `IM:<name>topic`) and the
 * store's client records in step with the msg_servers' status channels. Every write is
 * idempotent (SET, upsert ignoring older data), so several managers may run: each gets every
 * event from every msg_server and writes the same values. The one thing a manager decides on
 * its own, that a dead server's sessions are over (reapServer), it writes with the time the
 * server last reported for each session, not its own clock, so two managers reaping write the
 * same record, and a newer login elsewhere (a later time) is never overwritten by a reap.
 *
 * Hand-off: messages and membership are written by msg_servers to the store before they answer,
 * so nothing acknowledged waits on the manager. What the manager owns (caches and client
 * records) is level-triggered: each (re)subscription replays the msg_server's current sessions,
 * so whatever it missed while down is written when it returns.
 */
export class Manager {
  readonly counters = counters("manager");
  /** Who is logged in where (with the time reported), per msg_server: lets us close the records of a server that died. */
  private readonly sessionsByServer = new Map<string, Map<string, number>>();
  private readonly reapTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly cfg: Pick<ManagerConfig, "v1CacheTtlMs" | "v1TopicMembersMax">,
    private readonly log: Logger,
    private readonly v1: V1Cache,
    private readonly store: Store,
  ) {}

  static channels = [Channel.CLIENT_STATUS, Channel.TOPIC_STATUS, Channel.CLIENT_INFO, Channel.TOPIC_INFO] as const;

  /** A link came (back) up: its snapshot will re-list the server's sessions. */
  onLinkUp(link: ManagerLink): void {
    const t = this.reapTimers.get(link.addr);
    if (t) clearTimeout(t);
    this.reapTimers.delete(link.addr);
  }

  /**
   * A msg_server stopped answering. If it is still gone after `graceMs` (a restart is quicker), its
   * sessions ended without logout events: mark them offline in the store and drop v1's cache keys.
   */
  onLinkDown(link: ManagerLink, graceMs: number, stillDown: () => boolean): void {
    const timer = setTimeout(() => {
      this.reapTimers.delete(link.addr);
      if (!stillDown()) return;
      void this.reapServer(link.addr);
    }, graceMs);
    timer.unref();
    this.reapTimers.set(link.addr, timer);
  }

  async reapServer(server: string): Promise<void> {
    const ids = [...(this.sessionsByServer.get(server) ?? [])];
    this.sessionsByServer.delete(server);
    for (const [id, lastSeenMs] of ids) {
      const gone = { type: "session" as const, clientId: id, clientAddr: "", serverId: server, connId: "", alive: false, lastSeenMs };
      try {
        await this.apply(server, { ...gone, target: "cache" });
        await this.apply(server, { ...gone, target: "store" });
        this.counters.sessionsReaped++;
      } catch (err) {
        this.counters.errors++;
        this.log.warn({ err, id, server }, "could not mark session offline");
      }
    }
    if (ids.length > 0) this.log.info({ server, sessions: ids.length }, "msg_server gone: its sessions marked offline");
  }

  private track(server: string, id: string, alive: boolean, lastSeenMs: number): void {
    let map = this.sessionsByServer.get(server);
    if (!map) this.sessionsByServer.set(server, (map = new Map()));
    if (alive) map.set(id, lastSeenMs);
    else map.delete(id);
  }

  onCommand(link: ManagerLink, cmd: Command): void {
    let e: Envelope | null;
    try {
      e = parseEnvelope(cmd);
    } catch (err) {
      this.counters.badMessages++;
      this.log.warn({ err, from: link.addr }, "malformed message from a msg_server");
      return;
    }
    if (!e) return;
    this.apply(link.addr, e).catch((err: unknown) => {
      this.counters.errors++;
      this.log.warn({ err, type: e.type, from: link.addr }, "manager write failed");
    });
  }

  async apply(from: string, e: Envelope): Promise<void> {
    switch (e.type) {
      case "session":
        await (e.target === "cache" ? this.cacheSession(from, e) : this.storeSession(from, e));
        return;
      case "topic-event": {
        // The msg_server already wrote membership to the store; both events refresh v1's cache from it.
        const topic = await this.store.getTopic(e.topic);
        if (!topic) return;
        const members = await this.store.members(e.topic, "", this.cfg.v1TopicMembersMax);
        const v1 = { TopicName: e.topic, CreaterID: topic.creator, MemberList: members.map((ID) => ({ ID })), MsgServerAddr: "", MaxAge: 0 };
        await this.v1.putTopic(e.topic, v1, this.cfg.v1CacheTtlMs);
        if (e.target === "cache") this.counters.topicCache++;
        else this.counters.topicStore++;
        return;
      }
      default:
        return;
    }
  }

  private async cacheSession(from: string, e: SessionEvent): Promise<void> {
    const server = e.serverId || from;
    this.track(server, e.clientId, e.alive, e.lastSeenMs);
    if (!e.alive) await this.v1.dropSessionIfServer(e.clientId, server);
    else {
      const v1 = { ClientID: e.clientId, ClientAddr: e.clientAddr, MsgServerAddr: server, ID: e.connId, MaxAge: 0 };
      await this.v1.putSession(e.clientId, v1, this.cfg.v1CacheTtlMs);
    }
    this.counters.sessionCache++;
  }

  private async storeSession(from: string, e: SessionEvent): Promise<void> {
    await this.store.upsertClient({
      clientId: e.clientId,
      clientAddr: e.clientAddr,
      msgServerAddr: e.serverId || from,
      alive: e.alive,
      lastSeenMs: e.lastSeenMs,
    });
    this.counters.sessionStore++;
  }
}
