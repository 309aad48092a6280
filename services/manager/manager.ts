import type { Redis } from "ioredis";
import type { Logger } from "../../shared/log/logger.js";
import type { Store } from "../../shared/store/store.js";
import { Channel, Cmd, type Command } from "../../shared/protocol/commands.js";
import { v1Keys } from "../../shared/bus/keys.js";
import type { Link } from "../../shared/net/link.js";
import type { ManagerConfig } from "./config.js";

// Delete the v1 session cache only if it still names the server that reported the logout.
const DEL_IF_SERVER = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, obj = pcall(cjson.decode, v)
if ok and obj.MsgServerAddr == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface SessionData {
  ClientID?: string;
  ClientAddr?: string;
  MsgServerAddr?: string;
  ID?: string;
  Alive?: boolean;
  LastSeen?: number;
}

/**
 * The manager: keeps FishChatServer v1's Redis cache (`IM:<id>session`, `IM:<name>topic`) and the
 * store's client records in step with the msg_servers' status channels. Every write is
 * idempotent (SET, upsert ignoring older data), so several managers may run.
 *
 * Hand-off: messages and membership are written by msg_servers to the store before they answer,
 * so nothing acknowledged waits on the manager. What the manager owns (caches and client
 * records) is level-triggered: each (re)subscription replays the msg_server's current sessions,
 * so whatever it missed while down is written when it returns.
 */
export class Manager {
  readonly counters = { sessionCache: 0, sessionStore: 0, topicCache: 0, topicStore: 0, sessionsReaped: 0, errors: 0 };
  /** Who is logged in where, as reported by each msg_server: lets us close the records of a server that died. */
  private readonly sessionsByServer = new Map<string, Set<string>>();
  private readonly reapTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly cfg: ManagerConfig,
    private readonly log: Logger,
    private readonly redis: Redis,
    private readonly store: Store,
  ) {}

  static channels = [Channel.CLIENT_STATUS, Channel.TOPIC_STATUS, Channel.CLIENT_INFO, Channel.TOPIC_INFO] as const;

  /** A link came (back) up: its snapshot will re-list the server's sessions. */
  onLinkUp(link: Link): void {
    const t = this.reapTimers.get(link.addr);
    if (t) clearTimeout(t);
    this.reapTimers.delete(link.addr);
  }

  /**
   * A msg_server stopped answering. If it is still gone after `graceMs` (a restart is quicker), its
   * sessions ended without logout events: mark them offline in the store and drop v1's cache keys.
   */
  onLinkDown(link: Link, graceMs: number, stillDown: () => boolean): void {
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
    for (const id of ids) {
      try {
        await this.apply(server, { name: Cmd.CACHE_SESSION, args: [id, JSON.stringify({ MsgServerAddr: server, Alive: false })] });
        await this.apply(server, { name: Cmd.STORE_SESSION, args: [id, JSON.stringify({ MsgServerAddr: server, Alive: false, LastSeen: Date.now() })] });
        this.counters.sessionsReaped++;
      } catch (err) {
        this.counters.errors++;
        this.log.warn({ err, id, server }, "could not mark session offline");
      }
    }
    if (ids.length > 0) this.log.info({ server, sessions: ids.length }, "msg_server gone: its sessions marked offline");
  }

  private track(server: string, id: string, alive: boolean): void {
    let set = this.sessionsByServer.get(server);
    if (!set) this.sessionsByServer.set(server, (set = new Set()));
    if (alive) set.add(id);
    else set.delete(id);
  }

  onCommand(link: Link, cmd: Command): void {
    this.apply(link.addr, cmd).catch((err: unknown) => {
      this.counters.errors++;
      this.log.warn({ err, cmd: cmd.name, from: link.addr }, "manager write failed");
    });
  }

  async apply(from: string, cmd: Command): Promise<void> {
    const key = cmd.args[0];
    const data = parseData(cmd.args[1]);
    if (!key) return;
    switch (cmd.name) {
      case Cmd.CACHE_SESSION: {
        const s = data as SessionData;
        const server = s.MsgServerAddr ?? from;
        this.track(server, key, s.Alive !== false);
        if (s.Alive === false) {
          await this.redis.eval(DEL_IF_SERVER, 1, v1Keys.session(key), server);
        } else {
          const v1 = { ClientID: key, ClientAddr: s.ClientAddr ?? "", MsgServerAddr: server, ID: s.ID ?? "", MaxAge: 0 };
          await this.redis.set(v1Keys.session(key), JSON.stringify(v1), "PX", this.cfg.v1CacheTtlMs);
        }
        this.counters.sessionCache++;
        return;
      }
      case Cmd.STORE_SESSION: {
        const s = data as SessionData;
        await this.store.upsertClient({
          clientId: key,
          clientAddr: s.ClientAddr ?? "",
          msgServerAddr: s.MsgServerAddr ?? from,
          alive: s.Alive !== false,
          lastSeenMs: typeof s.LastSeen === "number" ? s.LastSeen : Date.now(),
        });
        this.counters.sessionStore++;
        return;
      }
      case Cmd.CACHE_TOPIC:
      case Cmd.STORE_TOPIC: {
        // The msg_server already wrote membership to the store; both events refresh v1's cache from it.
        const topic = await this.store.getTopic(key);
        if (!topic) return;
        const members = await this.store.members(key, "", this.cfg.v1TopicMembersMax);
        const v1 = { TopicName: key, CreaterID: topic.creator, MemberList: members.map((ID) => ({ ID })), MsgServerAddr: "", MaxAge: 0 };
        await this.redis.set(v1Keys.topic(key), JSON.stringify(v1), "PX", this.cfg.v1CacheTtlMs);
        if (cmd.name === Cmd.CACHE_TOPIC) this.counters.topicCache++;
        else this.counters.topicStore++;
        return;
      }
      default:
        return;
    }
  }
}

function parseData(json: string | undefined): Record<string, unknown> {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === "object" ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
