import { type Cluster, Redis } from "ioredis";
import type { Logger } from "../log/logger.js";
import { Backoff } from "../net/backoff.js";
import { calculateSlot, masterOfSlot, parseNodeKey } from "./cluster-slots.js";

export interface ShardSubscriberOptions {
  /** CLIENT SETNAME of the subscriber connection. */
  name: string;
  password: string;
  connectTimeoutMs: number;
}

/**
 * One sharded pub/sub channel (SSUBSCRIBE, Redis 7) kept subscribed on the master that serves its
 * slot, on a connection of its own. ioredis' own `shardedSubscribers` mode was measured
 * reconnecting in a tight loop while a master fails over (about 150 reconnects and 3.6 s of CPU
 * over one 4 s failover), so this does the little we need itself:
 *
 * - the owner comes from the Cluster client's slot map (which it refreshes on errors and every 2 s);
 * - the connection never reconnects on its own: when it ends, fails to subscribe, or Redis drops
 *   the subscription (an unsolicited SUNSUBSCRIBE when the slot moves), the owner is looked up
 *   again and a new connection subscribes, after a jittered backoff (100 ms .. 2 s, reset on success);
 * - when the slot map names a new owner (a replica was promoted; a partitioned master may still
 *   hold a connection that looks open), the subscription moves there at once.
 *
 * Messages published while it moves are lost, as pub/sub messages to a disconnected subscriber
 * always are: control messages are best effort (control-bus.ts).
 */
export class ShardSubscriber {
  private conn: Redis | null = null;
  private node: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly backoff = new Backoff(100, 2000);
  private readonly slot: number;
  private resolveReady!: () => void;
  /** Settles when the channel is first subscribed (or the subscriber is closed first). */
  readonly ready: Promise<void>;
  /** How many times a subscription was established (the first one included). */
  subscriptions = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly channel: string,
    private readonly onMessage: (text: string) => void,
    private readonly o: ShardSubscriberOptions,
    private readonly log: Logger,
  ) {
    this.slot = calculateSlot(channel);
    this.ready = new Promise((r) => (this.resolveReady = r));
    cluster.on("refresh", this.onRefresh);
    void this.attempt();
  }

  private readonly onRefresh = () => {
    if (this.closed || !this.node) return;
    const owner = masterOfSlot(this.cluster, this.slot);
    if (owner && owner !== this.node) {
      this.log.info({ channel: this.channel, from: this.node, to: owner }, "control channel moves to the slot's new master");
      this.restart(0);
    }
  };

  private async attempt(): Promise<void> {
    this.timer = null;
    if (this.closed) return;
    const owner = masterOfSlot(this.cluster, this.slot);
    if (!owner) {
      // No slot map yet (the cluster client is still connecting).
      this.restart(this.backoff.next());
      return;
    }
    const conn = new Redis({
      ...parseNodeKey(owner),
      password: this.o.password || undefined,
      connectionName: this.o.name,
      connectTimeout: this.o.connectTimeoutMs,
      commandTimeout: 2000,
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    this.conn = conn;
    this.node = owner;
    conn.on("error", (err: Error) => this.log.debug({ err, node: owner }, "control subscriber error"));
    conn.on("smessage", (ch: string, text: string) => {
      if (ch === this.channel) this.onMessage(text);
    });
    // ioredis emits "moved" for an unsolicited SUNSUBSCRIBE: the slot left this node.
    conn.on("moved", () => this.lost(conn));
    conn.once("end", () => this.lost(conn));
    try {
      await conn.connect();
      await conn.ssubscribe(this.channel);
      if (conn !== this.conn) return;
      this.backoff.reset();
      this.subscriptions++;
      this.resolveReady();
    } catch (err) {
      this.log.debug({ err, node: owner, channel: this.channel }, "control subscribe failed; retrying");
      this.lost(conn);
    }
  }

  private lost(conn: Redis): void {
    if (conn !== this.conn) return;
    // The slot map may be what is wrong (MOVED, a dead master): have it re-read before the next try.
    this.cluster.refreshSlotsCache();
    this.restart(this.backoff.next());
  }

  private restart(delayMs: number): void {
    const old = this.conn;
    this.conn = null;
    this.node = null;
    old?.disconnect();
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => void this.attempt(), delayMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    this.cluster.off("refresh", this.onRefresh);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.restart(0);
    this.resolveReady();
  }
}
