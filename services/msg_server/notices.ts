import type { Logger } from "../../shared/log/logger.js";
import type { ControlBus } from "../../shared/bus/control-bus.js";
import type { ProcessRegistry } from "../../shared/bus/process-registry.js";
import type { SessionDirectory } from "../../shared/bus/session-directory.js";
import type { Relay } from "../../shared/protocol/envelope.js";
import { type Notice, noticePush } from "../../shared/protocol/notices.js";
import type { Store } from "../../shared/store/store.js";
import type { MsgServerConfig } from "./config.js";
import type { Session } from "./session.js";

export interface NotifierDeps {
  cfg: Pick<MsgServerConfig, "presence">;
  serverId: string;
  store: Pick<Store, "conversations">;
  sessions: { get(clientId: string): Session | undefined };
  topics: { localMembers(name: string): ReadonlySet<Session> };
  directory: Pick<SessionDirectory, "lookup">;
  control: Pick<ControlBus, "send">;
  registry: Pick<ProcessRegistry, "list">;
  log: Logger;
}

/** Presence events of this server being worked on at once; more are dropped (best effort, bounded). */
export const MAX_PRESENCE_IN_FLIGHT = 256;
/** How long the list of live msg_servers (for topic notices) is reused. */
const SERVERS_TTL_MS = 2000;

export interface NoticeStats {
  /** Notices pushed to local clients. */
  pushed: number;
  /** RELAY messages sent to other msg_servers. */
  relayed: number;
  /** Presence events dropped because too many were in flight. */
  dropped: number;
}

/**
 * Notices (read receipts, presence, typing, topic member join/leave): pushed to local clients
 * at once, and to clients on other msg_servers through the control bus (a RELAY per server).
 * Never stored, never repeated: a notice lost with a pub/sub message or a crash is gone, which is
 * why clients learn the state itself from CONVERSATIONS and ONLINE_USERS.
 *
 * Why the control bus and not the router: the sender finds a client's server in the session
 * directory itself (one Redis GET, no extra hop), the router's guarantees (stored positions, gap
 * repair) mean nothing for what is never stored, and receipts keep working while the router is
 * down. A topic's notice goes to every live msg_server (one message each, whatever the topic's
 * size), since each knows its own online members and none knows the others'.
 */
export class Notifier {
  readonly stats: NoticeStats = { pushed: 0, relayed: 0, dropped: 0 };
  private inFlight = 0;
  private servers: { at: number; ids: Promise<string[]> } | null = null;

  constructor(private readonly d: NotifierDeps) {}

  /**
   * Push to the local sessions of `to` and the local online members of `topics`, each once,
   * never to `except`, at most presence.maxFanout. Returns how many got it.
   */
  deliverLocal(to: Iterable<string>, topics: Iterable<string>, except: string, notice: Notice): number {
    const max = this.d.cfg.presence.maxFanout;
    const seen = new Set<Session>();
    const offer = (s: Session | undefined): boolean => {
      if (!s || s.ended || s.clientId === except || seen.has(s)) return seen.size < max;
      seen.add(s);
      const push = noticePush(s.conn.dialect, notice);
      if (push) {
        s.conn.send(push);
        this.stats.pushed++;
      }
      return seen.size < max;
    };
    for (const id of to) if (!offer(this.d.sessions.get(id))) return seen.size;
    for (const t of topics) for (const s of this.d.topics.localMembers(t)) if (!offer(s)) return seen.size;
    return seen.size;
  }

  /** A RELAY from another msg_server. */
  onRelay(e: Relay): void {
    this.deliverLocal(e.to, e.topics, e.except, e.notice);
  }

  /** One client, wherever it is logged in (read receipts, p2p typing). Resolves when handed on. */
  async toClient(clientId: string, notice: Notice, except = ""): Promise<void> {
    if (clientId === except) return;
    if (this.d.sessions.get(clientId)) {
      this.deliverLocal([clientId], [], except, notice);
      return;
    }
    const loc = await this.d.directory.lookup(clientId);
    // Our own id with no local session: an entry about to be released; nobody to tell.
    if (!loc || loc.serverId === this.d.serverId) return;
    await this.relay(loc.serverId, { type: "relay", to: [clientId], topics: [], except, notice });
  }

  /** A topic's online members on every msg_server, except the one the notice is about. */
  async toTopic(topic: string, notice: Notice, except: string): Promise<void> {
    this.deliverLocal([], [topic], except, notice);
    const relay: Relay = { type: "relay", to: [], topics: [topic], except, notice };
    await Promise.all((await this.otherServers()).map((id) => this.relay(id, relay)));
  }

  /** PRESENCE online, after a login (and its topic sync: `topics` are the session's topics). */
  online(session: Session): void {
    this.presence(session.clientId, true, session.topicNames());
  }

  /**
   * PRESENCE offline, when a session ended. Not when the client is still (or again) logged in:
   * here (a new login on this server kicked the old one) or elsewhere (the directory names
   * another server).
   */
  offline(session: Session, topics: string[]): void {
    this.presence(session.clientId, false, topics, async () => {
      // A kick by a newer login on this server ends the old session just before the new one is recorded.
      await new Promise((r) => setImmediate(r));
      if (this.d.sessions.get(session.clientId)) return false;
      const loc = await this.d.directory.lookup(session.clientId);
      return !loc || loc.serverId === this.d.serverId;
    });
  }

  private presence(clientId: string, online: boolean, topics: string[], stillTrue?: () => Promise<boolean>): void {
    if (!this.d.cfg.presence.enabled) return;
    if (this.inFlight >= MAX_PRESENCE_IN_FLIGHT) {
      this.stats.dropped++;
      return;
    }
    this.inFlight++;
    this.presenceNow(clientId, online, topics, stillTrue)
      .catch((err: unknown) => this.d.log.debug({ err, clientId }, "presence notice failed"))
      .finally(() => this.inFlight--);
  }

  private async presenceNow(clientId: string, online: boolean, topicNames: string[], stillTrue?: () => Promise<boolean>): Promise<void> {
    if (stillTrue && !(await stillTrue())) return;
    const { store, sessions, directory, serverId, cfg } = this.d;
    const max = cfg.presence.maxFanout;
    const notice: Notice = { kind: "presence", clientId, online };
    const topics = topicNames.slice(0, max);
    const convs = await store.conversations(clientId, max);
    const local: string[] = [];
    const remote: string[] = [];
    for (const c of convs) {
      if (c.kind !== "p2p" || c.target === clientId) continue;
      (sessions.get(c.target) ? local : remote).push(c.target);
    }
    this.deliverLocal(local, topics, clientId, notice);
    const byServer = new Map<string, string[]>();
    const locs = await Promise.all(remote.map((id) => directory.lookup(id).catch(() => null)));
    remote.forEach((id, i) => {
      const server = locs[i]?.serverId;
      if (!server || server === serverId) return;
      const list = byServer.get(server);
      if (list) list.push(id);
      else byServer.set(server, [id]);
    });
    if (topics.length > 0) for (const id of await this.otherServers()) if (!byServer.has(id)) byServer.set(id, []);
    await Promise.all([...byServer].map(([server, to]) => this.relay(server, { type: "relay", to, topics, except: clientId, notice })));
  }

  private async relay(serverId: string, e: Relay): Promise<void> {
    try {
      await this.d.control.send(serverId, e);
      this.stats.relayed++;
    } catch (err) {
      this.d.log.debug({ err, serverId }, "notice relay failed (Redis down?)");
    }
  }

  /** The other live msg_servers, from the registry, reused for SERVERS_TTL_MS. */
  private otherServers(): Promise<string[]> {
    const now = Date.now();
    if (!this.servers || now - this.servers.at > SERVERS_TTL_MS) {
      const ids = this.d.registry
        .list("msg_server")
        .then((entries) => entries.filter((e) => e.alive && e.info.id !== this.d.serverId).map((e) => e.info.id))
        .catch((err: unknown) => {
          this.d.log.debug({ err }, "registry read failed; topic notices stay on this server");
          this.servers = null;
          return [] as string[];
        });
      this.servers = { at: now, ids };
    }
    return this.servers.ids;
  }
}
