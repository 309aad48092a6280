import type { Logger } from "../../shared/log/logger.js";
import { Channel, Cmd, type Command } from "../../shared/protocol/commands.js";
import type { Link } from "../../shared/net/link.js";
import type { LinkSet } from "../../shared/net/link-set.js";
import type { LocationCache } from "./locations.js";

/** Messages held behind one source link's Redis lookup before new ones are shed. */
const MAX_LOOKUP_QUEUE = 10_000;

/**
 * The router: forwards p2p messages between msg_servers (SEND_MESSAGE_P2P on /sysctrl/send in,
 * ROUTE_MESSAGE_P2P out, as v1 intended but never did, reference §6.5) and topic messages to the
 * servers that have a member of the topic online, and to no other (targeted fan-out).
 *
 * The router holds no message: everything it forwards is already committed in the store. A
 * forward that fails is recovered by the destination msg_server reading the store.
 */
export class Router {
  /** topic -> msg_servers with at least one member of it online. */
  readonly topicServers = new Map<string, Set<string>>();
  readonly counters = {
    p2pIn: 0,
    p2pForwarded: 0,
    p2pOffline: 0,
    p2pLinkDown: 0,
    nacks: 0,
    /** Forwards skipped because a source's lookup queue was full; the recipient's msg_server reads them from the store. */
    p2pShed: 0,
    resyncs: 0,
    topicIn: 0,
    topicForwarded: 0,
  };
  /** Topic messages forwarded, per destination msg_server: the fan-out the monitor and benchmark show. */
  readonly topicPerServer = new Map<string, number>();
  /** Per source link: messages waiting behind a Redis lookup, so one sender's order never changes. */
  private readonly queues = new Map<string, Command[]>();
  private links!: LinkSet;

  constructor(
    private readonly log: Logger,
    private readonly locations: LocationCache,
  ) {}

  attach(links: LinkSet): void {
    this.links = links;
  }

  static channels = [Channel.SEND, Channel.TOPIC_SYNC, Channel.CLIENT_STATUS] as const;

  onLinkUp(link: Link): void {
    // The snapshot that follows SUBSCRIBE_CHANNEL re-adds what this server has online.
    this.dropServerTopics(link.addr);
  }

  onLinkDown(link: Link): void {
    this.dropServerTopics(link.addr);
    this.locations.forgetServer(link.addr);
    this.queues.delete(link.addr);
  }

  onCommand(link: Link, cmd: Command): void {
    switch (cmd.name) {
      case Cmd.SEND_MESSAGE_P2P:
        this.counters.p2pIn++;
        this.routeP2P(link.addr, cmd);
        return;
      case Cmd.ROUTE_MESSAGE_TOPIC:
        this.routeTopic(link.addr, cmd);
        return;
      case Cmd.CACHE_SESSION:
        this.onSession(link.addr, cmd);
        return;
      case Cmd.TOPIC_ONLINE:
        for (const t of cmd.args) this.addTopicServer(t, link.addr);
        return;
      case Cmd.TOPIC_SNAPSHOT:
        for (const t of cmd.args) this.addTopicServer(t, link.addr);
        return;
      case Cmd.TOPIC_OFFLINE:
        for (const t of cmd.args) this.topicServers.get(t)?.delete(link.addr);
        return;
      case Cmd.ROUTE_NACK:
        void this.onNack(link.addr, cmd.args[0]);
        return;
      default:
        this.log.debug({ cmd: cmd.name, from: link.addr }, "ignored link command");
    }
  }

  private routeP2P(source: string, cmd: Command): void {
    const queue = this.queues.get(source);
    if (queue) {
      // Bounded: a slow Redis must not grow our memory. Shedding loses nothing (see class comment).
      if (queue.length < MAX_LOOKUP_QUEUE) queue.push(cmd);
      else this.counters.p2pShed++;
      return;
    }
    const to = cmd.args[0] ?? "";
    const dest = this.locations.peek(to);
    if (dest !== undefined) {
      this.forwardP2P(dest, cmd);
      return;
    }
    // Cache miss: hold this source's later messages until the lookup answers.
    this.queues.set(source, [cmd]);
    void this.drain(source);
  }

  private async drain(source: string): Promise<void> {
    for (;;) {
      const queue = this.queues.get(source);
      if (!queue || queue.length === 0) {
        this.queues.delete(source);
        return;
      }
      const cmd = queue[0]!;
      const to = cmd.args[0] ?? "";
      let dest: string | null | undefined = this.locations.peek(to);
      if (dest === undefined) {
        try {
          dest = await this.locations.lookup(to);
        } catch (err) {
          this.log.debug({ err: (err as Error).message }, "location lookup failed; message stays in the store");
          dest = null;
        }
      }
      queue.shift();
      if (dest) this.forwardP2P(dest, cmd);
      else this.counters.p2pOffline++;
    }
  }

  private forwardP2P(dest: string, cmd: Command): void {
    const link = this.links.get(dest);
    if (link?.send({ name: Cmd.ROUTE_MESSAGE_P2P, args: cmd.args })) this.counters.p2pForwarded++;
    else this.counters.p2pLinkDown++;
  }

  /** The destination did not have the client: our cache was stale. Point the right server at its store. */
  private async onNack(from: string, clientId: string | undefined): Promise<void> {
    if (!clientId) return;
    this.counters.nacks++;
    this.locations.forget(clientId, from);
    try {
      const dest = await this.locations.lookup(clientId);
      if (dest && dest !== from && this.links.get(dest)?.send({ name: Cmd.RESYNC, args: [clientId] })) this.counters.resyncs++;
    } catch {
      // Redis down: the destination's sweep will find the message.
    }
  }

  private routeTopic(source: string, cmd: Command): void {
    this.counters.topicIn++;
    const servers = this.topicServers.get(cmd.args[0] ?? "");
    if (!servers) return;
    for (const dest of servers) {
      if (dest === source) continue;
      if (this.links.get(dest)?.send(cmd)) {
        this.counters.topicForwarded++;
        this.topicPerServer.set(dest, (this.topicPerServer.get(dest) ?? 0) + 1);
      }
    }
  }

  private onSession(server: string, cmd: Command): void {
    const id = cmd.args[0];
    const json = cmd.args[1];
    if (!id || !json) return;
    try {
      const data = JSON.parse(json) as { Alive?: boolean; MsgServerAddr?: string };
      const at = data.MsgServerAddr ?? server;
      if (data.Alive === false) this.locations.forget(id, at);
      else this.locations.set(id, at);
    } catch {
      this.log.debug({ server }, "bad CACHE_SESSION payload");
    }
  }

  private addTopicServer(topic: string, server: string): void {
    let set = this.topicServers.get(topic);
    if (!set) {
      set = new Set();
      this.topicServers.set(topic, set);
    }
    set.add(server);
  }

  private dropServerTopics(server: string): void {
    for (const [t, set] of this.topicServers) {
      set.delete(server);
      if (set.size === 0) this.topicServers.delete(t);
    }
  }

  stats(): Record<string, number> {
    const perServer: Record<string, number> = {};
    for (const [k, v] of this.topicPerServer) perServer[`topicTo:${k}`] = v;
    return {
      ...this.counters,
      ...perServer,
      links: this.links.all().length,
      linksUp: this.links.all().filter((l) => l.isUp).length,
      locationCache: this.locations.size,
      cacheHits: this.locations.hits,
      cacheMisses: this.locations.misses,
      topicsRouted: this.topicServers.size,
    };
  }
}
