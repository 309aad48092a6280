import type { Logger } from "../../shared/log/logger.js";
import { Channel, type Command } from "../../shared/protocol/commands.js";
import { encodeEnvelope, parseEnvelope, type Envelope, type RouteP2P, type RouteTopic } from "../../shared/protocol/envelope.js";
import { processStats } from "../../shared/process-stats.js";
import { counters, ROUTER_TOPIC_TO } from "../../shared/stats-schema.js";
import { hop } from "../../shared/trace/hops.js";
import type { LocationCache } from "./locations.js";

/** Messages held behind one source link's location lookup before new ones are shed. */
export const MAX_LOOKUP_QUEUE = 10_000;

/** What the router needs of a link to a msg_server (a shared/net Link has it). */
export interface LinkLike {
  readonly addr: string;
  readonly isUp: boolean;
  send(cmd: Command): boolean;
}

/** The links by msg_server address (a shared/net LinkSet has it). */
export interface LinkTable {
  get(addr: string): LinkLike | undefined;
  all(): LinkLike[];
}

/**
 * The router: forwards p2p messages between msg_servers (ROUTE_MESSAGE_P2P in on /sysctrl/send,
 * the same envelope out to the recipient's server, as v1 intended but never did, reference §6.5)
 * and topic messages to the servers that have a member of the topic online, and to no other
 * (targeted fan-out).
 *
 * The router holds no message: everything it forwards is already committed in the store. A
 * forward that fails is recovered by the destination msg_server reading the store.
 */
export class Router {
  /** topic -> msg_servers with at least one member of it online. */
  readonly topicServers = new Map<string, Set<string>>();
  readonly counters = counters("router");
  /** Topic messages forwarded, per destination msg_server: the fan-out the monitor and benchmark show. */
  readonly topicPerServer = new Map<string, number>();
  /** Per source link: messages waiting behind a location lookup, so one sender's order never changes. */
  private readonly queues = new Map<string, RouteP2P[]>();

  constructor(
    private readonly log: Logger,
    private readonly locations: LocationCache,
    private readonly links: LinkTable,
  ) {}

  static channels = [Channel.SEND, Channel.TOPIC_SYNC, Channel.CLIENT_STATUS] as const;

  onLinkUp(link: LinkLike): void {
    // The snapshot that follows SUBSCRIBE_CHANNEL re-adds what this server has online.
    this.dropServerTopics(link.addr);
  }

  onLinkDown(link: LinkLike): void {
    this.dropServerTopics(link.addr);
    this.locations.forgetServer(link.addr);
    this.queues.delete(link.addr);
  }

  onCommand(link: LinkLike, cmd: Command): void {
    let e: Envelope | null;
    try {
      e = parseEnvelope(cmd);
    } catch (err) {
      this.counters.badMessages++;
      this.log.warn({ err, from: link.addr }, "malformed message from a msg_server");
      return;
    }
    if (!e) {
      this.log.debug({ cmd: cmd.name, from: link.addr }, "ignored link command");
      return;
    }
    this.onEnvelope(link.addr, e);
  }

  onEnvelope(source: string, e: Envelope): void {
    switch (e.type) {
      case "route-p2p":
        this.counters.p2pIn++;
        hop(e.uuid, "router-in");
        this.routeP2P(source, e);
        return;
      case "route-topic":
        this.routeTopic(source, e);
        return;
      case "session":
        if (e.alive) this.locations.set(e.clientId, e.serverId || source);
        else this.locations.forget(e.clientId, e.serverId || source);
        return;
      case "topic-online":
      case "topic-snapshot":
        for (const t of e.topics) this.addTopicServer(t, source);
        return;
      case "topic-offline":
        for (const t of e.topics) this.topicServers.get(t)?.delete(source);
        return;
      case "route-nack":
        void this.onNack(source, e.to);
        return;
      default:
        this.log.debug({ type: e.type, from: source }, "ignored message");
    }
  }

  private routeP2P(source: string, e: RouteP2P): void {
    const queue = this.queues.get(source);
    if (queue) {
      // Bounded: a slow Redis must not grow our memory. Shedding loses nothing (see class comment).
      if (queue.length < MAX_LOOKUP_QUEUE) queue.push(e);
      else this.counters.p2pShed++;
      return;
    }
    const dest = this.locations.peek(e.to);
    if (dest !== undefined) {
      this.forwardP2P(dest, e);
      return;
    }
    // Cache miss: hold this source's later messages until the lookup answers.
    this.queues.set(source, [e]);
    void this.drain(source);
  }

  private async drain(source: string): Promise<void> {
    for (;;) {
      const queue = this.queues.get(source);
      if (!queue || queue.length === 0) {
        this.queues.delete(source);
        return;
      }
      const e = queue[0]!;
      let dest: string | null | undefined = this.locations.peek(e.to);
      if (dest === undefined) {
        try {
          dest = await this.locations.lookup(e.to);
        } catch (err) {
          this.log.debug({ err }, "location lookup failed; message stays in the store");
          dest = null;
        }
      }
      // The source's link may have gone (and its queue with it) while we waited.
      if (this.queues.get(source) !== queue) return;
      queue.shift();
      if (dest) this.forwardP2P(dest, e);
      else this.counters.p2pOffline++;
    }
  }

  private forwardP2P(dest: string, e: RouteP2P): void {
    if (this.links.get(dest)?.send(encodeEnvelope(e))) this.counters.p2pForwarded++;
    else this.counters.p2pLinkDown++;
    hop(e.uuid, "router-out");
  }

  /** The destination did not have the client: our cache was stale. Point the right server at its store. */
  private async onNack(from: string, clientId: string): Promise<void> {
    this.counters.nacks++;
    this.locations.forget(clientId, from);
    try {
      const dest = await this.locations.lookup(clientId);
      if (dest && dest !== from && this.links.get(dest)?.send(encodeEnvelope({ type: "resync", clientId }))) this.counters.resyncs++;
    } catch {
      // Redis down: the destination's sweep will find the message.
    }
  }

  private routeTopic(source: string, e: RouteTopic): void {
    this.counters.topicIn++;
    const servers = this.topicServers.get(e.topic);
    if (!servers) return;
    let cmd: Command | null = null;
    for (const dest of servers) {
      if (dest === source) continue;
      cmd ??= encodeEnvelope(e);
      if (this.links.get(dest)?.send(cmd)) {
        this.counters.topicForwarded++;
        this.topicPerServer.set(dest, (this.topicPerServer.get(dest) ?? 0) + 1);
      }
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
    for (const [k, v] of this.topicPerServer) perServer[ROUTER_TOPIC_TO + k] = v;
    const links = this.links.all();
    return {
      ...processStats().read(),
      ...this.counters,
      ...perServer,
      links: links.length,
      linksUp: links.filter((l) => l.isUp).length,
      locationCache: this.locations.size,
      cacheHits: this.locations.hits,
      cacheMisses: this.locations.misses,
      topicsRouted: this.topicServers.size,
    };
  }
}
